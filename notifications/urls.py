from django.urls import path

from notifications import views

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("webhooks/twilio/status", views.twilio_status, name="twilio-status"),
    path("webhooks/twilio/inbound", views.twilio_inbound, name="twilio-inbound"),
    path("webhooks/email/<str:provider>/tracking/", views.email_tracking, name="email-tracking"),
]
