from django.db import migrations

from core.roles import sync_role_groups


class Migration(migrations.Migration):
    dependencies = [("compensation", "0004_requests")]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
