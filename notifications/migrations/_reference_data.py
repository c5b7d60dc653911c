"""Reference data the migrations create; also used to restore it in tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def create_templates(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None) -> None:
    from notifications.default_templates import DEFAULT_TEMPLATES

    template_model = apps.get_model("notifications", "NotificationTemplate")
    for (event_type, channel, language), (subject, body) in DEFAULT_TEMPLATES.items():
        template_model.objects.get_or_create(
            event_type=event_type, channel=channel, language=language, defaults={"subject": subject, "body": body}
        )
