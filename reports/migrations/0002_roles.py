from django.db import migrations

from core.roles import sync_role_groups


class Migration(migrations.Migration):
    # After every app's roles migration so far, so the groups end with all their permissions.
    dependencies = [
        ("reports", "0001_initial"),
        ("compensation", "0006_issuing_status"),
        ("complaints", "0003_roles"),
        ("notifications", "0006_coupon_event"),
    ]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
