"""Back up the database: ``pg_dump`` custom format plus a manifest of row counts and checksums.

    python manage.py backup_db                      # into BACKUP_DIR
    python manage.py backup_db --output /mnt/backups

Encrypted with Fernet when BACKUP_ENCRYPTION_KEY is set. Restore with
``restore_db`` and prove it with ``verify_restore``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from ops.backup import BackupError, Database, database_backup


class Command(BaseCommand):
    help = "Back up PostgreSQL (pg_dump -Fc, optionally encrypted) with a verification manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=None, help="directory (default: BACKUP_DIR)")

    def handle(self, *args: Any, output: Path | None, **options: Any) -> None:
        try:
            result = database_backup(
                database=Database.from_settings(connection.settings_dict),
                directory=output or Path(settings.BACKUP_DIR),
                encryption_key=settings.BACKUP_ENCRYPTION_KEY,
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"backup  {result.dump}")
        self.stdout.write(f"manifest {result.manifest}  ({result.tables} tables, {result.rows:,} rows)")
