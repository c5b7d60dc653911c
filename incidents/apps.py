from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from incidents.messaging import register_message_contexts

        register_message_contexts()
        # The seed categories exist after every migrate and every test database flush.
        post_migrate.connect(_categories_ensure, sender=self, dispatch_uid="incidents.categories")


def _categories_ensure(**_: object) -> None:
    from django.apps import apps

    from incidents.migrations._reference_data import create_categories

    create_categories(apps, None)
