from django.db import migrations



class Migration(migrations.Migration):
    # After every app's roles migration so far, so the groups end with all their permissions.
    dependencies = [
        ("notifications", "0007_status_subscriptions"),
        ("reports", "0002_roles"),
    ]

    # Roles are kept in step after every migrate (core.roles.role_groups_sync, a post_migrate receiver).
    operations = []
