from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

admin.site.site_header = _("Parcel incident desk")
admin.site.site_title = _("Parcel incident desk")
admin.site.index_title = _("Workspace")

api_v1: list[URLPattern | URLResolver] = [
    path("", include("customers.api_urls")),
    path("", include("orders.api_urls")),
    path("", include("incidents.api_urls")),
    path("", include("complaints.api_urls")),
    path("", include("compensation.api_urls")),
    path("", include("monitoring.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    # First: the status page and its JSON are what outage traffic asks for, so they resolve
    # without walking the admin's and the API's patterns. No portal path overlaps another.
    path("", include("portal.urls")),
    path("admin/reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("notifications.urls")),
    path("", include("ops.urls")),
]
