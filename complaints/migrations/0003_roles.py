from django.db import migrations



class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0002_canned_responses"),
        ("notifications", "0002_default_templates_and_roles"),
    ]

    # Roles are kept in step after every migrate (core.roles.role_groups_sync, a post_migrate receiver).
    operations = []
