from django.db import migrations

from incidents.migrations._reference_data import create_categories

class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
        ("components", "0001_initial"),
        ("core", "0002_role_groups"),
    ]

    operations = [
        migrations.RunPython(create_categories, migrations.RunPython.noop),
    ]
