from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from components.services import component_impacts_register
        from incidents.messaging import message_contexts_register
        from incidents.selectors import open_impacts_by_component

        message_contexts_register()
        component_impacts_register(open_impacts_by_component)
        # The seed categories exist after every migrate and every test database flush.
        post_migrate.connect(_categories_ensure, sender=self, dispatch_uid="incidents.categories")


def _categories_ensure(**_: object) -> None:
    from django.apps import apps

    from incidents.migrations._reference_data import create_categories

    create_categories(apps, None)
