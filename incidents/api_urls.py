from django.urls import path

from incidents import api

urlpatterns = [
    path("incidents/", api.IncidentListApi.as_view(), name="api-incident-list"),
    path("incidents/<int:incident_id>/", api.IncidentDetailApi.as_view(), name="api-incident-detail"),
    path("incidents/<int:incident_id>/updates/", api.IncidentUpdatesApi.as_view(), name="api-incident-updates"),
    path(
        "incidents/<int:incident_id>/transitions/", api.IncidentTransitionApi.as_view(), name="api-incident-transition"
    ),
    path(
        "incidents/<int:incident_id>/affected-orders/", api.AffectedOrderListApi.as_view(), name="api-affected-orders"
    ),
    path(
        "incidents/<int:incident_id>/affected-orders/by-criteria/",
        api.LinkByCriteriaApi.as_view(),
        name="api-link-criteria",
    ),
    path(
        "incidents/<int:incident_id>/affected-orders/by-tracking-numbers/",
        api.LinkByTrackingNumbersApi.as_view(),
        name="api-link-tracking-numbers",
    ),
    path("link-jobs/<int:job_id>/", api.LinkJobApi.as_view(), name="api-link-job"),
    path("components/", api.ComponentListApi.as_view(), name="api-components"),
    path("maintenances/", api.MaintenanceListApi.as_view(), name="api-maintenances"),
]
