"""Restore a backup into a fresh database (never over a database that has tables).

    python manage.py restore_db /var/backups/parcel/parcel-20261122T040000Z.manifest.json \
        --database-url postgres://postgres@127.0.0.1:5432/parcel_restored --create

Checks the file against its manifest first (SHA-256), decrypts with
BACKUP_ENCRYPTION_KEY when the backup is encrypted. Then run ``verify_restore``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import BackupError, Database, database_restore


class Command(BaseCommand):
    help = "Restore a backup (by its manifest) into a fresh PostgreSQL database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path)
        parser.add_argument("--database-url", required=True, help="the database to restore into")
        parser.add_argument("--create", action="store_true", help="create the database first")

    def handle(self, *args: Any, manifest: Path, database_url: str, create: bool, **options: Any) -> None:
        try:
            target = Database.from_url(database_url)
            database_restore(
                manifest_path=manifest, target=target, create=create, encryption_key=settings.BACKUP_ENCRYPTION_KEY
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"restored into {target.name}; now: manage.py verify_restore {manifest} --database-url …")
