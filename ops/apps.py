from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """What looks at everything: the staff's desks, health and metrics, backups, demo data."""

    name = "ops"
    verbose_name = _("Operations")
