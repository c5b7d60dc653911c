from django.urls import path

from monitoring import api

urlpatterns = [
    path("alerts/", api.GenericAlertsApi.as_view(), name="api-alerts"),
    path("alerts/alertmanager/", api.AlertmanagerAlertsApi.as_view(), name="api-alerts-alertmanager"),
    path("alerts/grafana/", api.GrafanaAlertsApi.as_view(), name="api-alerts-grafana"),
]
