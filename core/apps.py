from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core.roles import role_groups_sync

        post_migrate.connect(role_groups_sync, sender=self, dispatch_uid="core.role_groups")
