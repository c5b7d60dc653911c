from django.db import migrations



class Migration(migrations.Migration):
    # After every app's roles migration so far, so the groups end with all their permissions.
    dependencies = [
        ("reports", "0001_initial"),
        ("compensation", "0006_issuing_status"),
        ("complaints", "0003_roles"),
        ("notifications", "0006_coupon_event"),
    ]

    # Roles are kept in step after every migrate (core.roles.role_groups_sync, a post_migrate receiver).
    operations = []
