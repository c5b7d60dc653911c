from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from anymail.signals import tracking

        tracking.connect(_email_tracking, dispatch_uid="notifications.email_tracking")


def _email_tracking(*, event: object, esp_name: str = "", **_: object) -> None:
    """Anymail's tracking webhook, normalised across providers: a receipt, a bounce, a complaint."""
    from notifications.receipts import email_tracking_apply

    email_tracking_apply(
        event_type=str(getattr(event, "event_type", "") or ""),
        message_id=str(getattr(event, "message_id", "") or ""),
        recipient=str(getattr(event, "recipient", "") or ""),
        reject_reason=str(getattr(event, "reject_reason", "") or ""),
    )
