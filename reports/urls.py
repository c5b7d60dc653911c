from django.contrib import admin
from django.urls import path

from reports import views

# Mounted under /admin/reports/ (before the admin's own URLs): staff sign-in comes from admin_view.
urlpatterns = [
    path("dashboard/", admin.site.admin_view(views.dashboard_page), name="reports-dashboard"),
    path("incidents/<int:incident_id>/", admin.site.admin_view(views.incident_report_page), name="reports-incident"),
    path(
        "incidents/<int:incident_id>/pdf/",
        admin.site.admin_view(views.incident_report_pdf),
        name="reports-incident-pdf",
    ),
]
