from django.db import migrations

from core.roles import sync_role_groups


def create_templates(apps, schema_editor):
    from notifications.default_templates import DEFAULT_TEMPLATES

    template_model = apps.get_model("notifications", "NotificationTemplate")
    for (event_type, channel, language), (subject, body) in DEFAULT_TEMPLATES.items():
        template_model.objects.get_or_create(
            event_type=event_type, channel=channel, language=language, defaults={"subject": subject, "body": body}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("incidents", "0002_default_categories_and_roles"),
    ]

    operations = [
        migrations.RunPython(create_templates, migrations.RunPython.noop),
        migrations.RunPython(sync_role_groups, migrations.RunPython.noop),
    ]
