from django.db import migrations

from notifications.migrations._reference_data import create_templates


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("incidents", "0002_default_categories_and_roles"),
    ]

    operations = [
        migrations.RunPython(create_templates, migrations.RunPython.noop),
    ]
