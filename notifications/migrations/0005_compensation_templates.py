from django.db import migrations

from notifications.migrations._reference_data import create_templates


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_event_types")]

    operations = [migrations.RunPython(create_templates, migrations.RunPython.noop)]
