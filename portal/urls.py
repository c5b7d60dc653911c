import re

from django.urls import path, re_path

from portal import complaints, views

STATUS_DOCUMENT_NAMES = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)
STATUS_DOCUMENTS = "|".join(re.escape(name) for name in STATUS_DOCUMENT_NAMES)

urlpatterns = [
    # The pages a crowd asks for first (the status page, the lookup, the JSON); no two patterns overlap.
    path("", views.status_page, name="home"),
    path("track/", views.track, name="track"),
    re_path(rf"^api/v2/(?P<name>{STATUS_DOCUMENTS})$", views.status_api, name="status-api"),
    path("history.atom", views.status_feed, name="status-feed"),
    path("history/", views.status_history, name="status-history"),
    path("language/<str:code>/", views.language_switch, name="language-switch"),
    path("subscribe/", views.subscribe, name="status-subscribe"),
    path("subscribe/code/<str:token>/", views.subscription_code, name="status-subscription-code"),
    path("subscribe/confirm/<str:token>/", views.subscription_confirm, name="status-subscription-confirm"),
    path("subscribe/cancel/<str:token>/", views.subscription_cancel, name="status-subscription-cancel"),
    path("incidents/<int:incident_id>/", views.incident_page, name="incident-page"),
    path("complaints/new/", complaints.complaint_new, name="complaint-new"),
    path("complaints/<str:token>/", complaints.complaint_detail, name="complaint-detail"),
]
