from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from incidents.hooks import public_update_committed
        from notifications.hooks import queue_incident_update

        public_update_committed.connect(queue_incident_update, dispatch_uid="notifications.queue_incident_update")
