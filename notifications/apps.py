from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from incidents.hooks import public_update_committed
        from notifications.hooks import queue_incident_update
        from notifications.subscriptions import notify_status_subscribers

        public_update_committed.connect(queue_incident_update, dispatch_uid="notifications.queue_incident_update")
        public_update_committed.connect(notify_status_subscribers, dispatch_uid="notifications.status_subscribers")

        from django.db.models.signals import post_save

        from components.models import Maintenance
        from notifications.subscriptions import notify_maintenance_subscribers

        post_save.connect(
            notify_maintenance_subscribers, sender=Maintenance, dispatch_uid="notifications.maintenance_subscribers"
        )
