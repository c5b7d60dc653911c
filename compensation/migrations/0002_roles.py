from django.db import migrations

class Migration(migrations.Migration):
    dependencies = [
        ("compensation", "0001_initial"),
        ("complaints", "0003_roles"),
    ]

    # Roles are kept in step after every migrate (core.roles.role_groups_sync, a post_migrate receiver).
    operations = []
