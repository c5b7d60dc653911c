from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from components.models import Maintenance


class ComponentsConfig(AppConfig):
    name = "components"
    verbose_name = _("Service components")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from components.models import Maintenance

        post_save.connect(_maintenance_saved, sender=Maintenance, dispatch_uid="components.maintenance_announce")


def _maintenance_saved(*, instance: Maintenance, **_: object) -> None:
    """Whoever changed it (a service, the beat, the admin), its subscribers hear once it commits."""
    from components.messaging import maintenance_announce_on_commit

    maintenance_announce_on_commit(maintenance_id=instance.pk)
