from django.db import migrations



class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("customers", "0001_initial"),
        ("orders", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    # Roles are kept in step after every migrate (core.roles.role_groups_sync, a post_migrate receiver).
    operations = []
