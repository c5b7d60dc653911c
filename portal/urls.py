from django.urls import path

from portal import views

urlpatterns = [
    path("track/", views.track, name="track"),
    path("incidents/<int:incident_id>/", views.incident_page, name="incident-page"),
]
