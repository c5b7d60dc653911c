"""Prove a restore: every table's row count and checksum against the backup's manifest.

    python manage.py verify_restore /var/backups/parcel/parcel-….manifest.json \
        --database-url postgres://postgres@127.0.0.1:5432/parcel_restored

Exits non-zero and names each table that differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import BackupError, Database, restore_verify


class Command(BaseCommand):
    help = "Compare a restored database with its backup manifest (row counts and checksums per table)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path)
        parser.add_argument("--database-url", required=True, help="the restored database")

    def handle(self, *args: Any, manifest: Path, database_url: str, **options: Any) -> None:
        try:
            checked, differences = restore_verify(
                manifest_path=manifest,
                target=Database.from_url(database_url),
                encryption_key=settings.BACKUP_ENCRYPTION_KEY,
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        for difference in differences:
            expected = difference.expected or "missing in the backup"
            found = difference.found or "missing in the restore"
            self.stderr.write(f"{difference.table}: expected {expected}, found {found}")
        if differences:
            raise CommandError(f"restore differs from the backup in {len(differences)} of {checked} tables")
        self.stdout.write(f"restore verified: {checked} tables match the manifest (row counts and checksums)")
