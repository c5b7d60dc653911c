from django.db import migrations

from core.roles import sync_role_groups


class Migration(migrations.Migration):
    # After every app's roles migration so far, so the groups end with all their permissions.
    dependencies = [
        ("notifications", "0007_status_subscriptions"),
        ("reports", "0002_roles"),
    ]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
