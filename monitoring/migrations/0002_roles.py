from django.db import migrations

from core.roles import sync_role_groups


class Migration(migrations.Migration):
    # After every app whose permissions the roles list, so the groups get all of them.
    dependencies = [
        ("monitoring", "0001_initial"),
        ("core", "0003_apitoken"),
        ("complaints", "0004_reply_delivery"),
        ("compensation", "0008_redemption_keys_partial_indexes"),
        ("reports", "0002_roles"),
        ("notifications", "0010_estimate_says_what_changed"),
        ("customers", "0002_alter_customer_email"),
        ("orders", "0001_initial"),
    ]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
