"""PostgreSQL backups whose restore is proven, not assumed.

A backup is two files side by side:

- ``parcel-<UTC time>.dump`` — ``pg_dump`` custom format (compressed, restorable
  table by table), or ``.dump.enc`` when ``BACKUP_ENCRYPTION_KEY`` is set;
- ``parcel-<UTC time>.manifest.json`` — the dump's SHA-256, and for every table its
  row count and a checksum of its rows in primary-key order.

The checksums and the dump read the same snapshot (``pg_export_snapshot`` and
``pg_dump --snapshot``), so a busy database still gives a manifest that matches
its dump exactly. After a restore, ``verify_restore`` recomputes the same figures
on the restored database and names every table that differs.

Encryption is Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) over
chunks of 16 MiB, one token per line, so memory stays flat however large the dump;
the plaintext's SHA-256 in the manifest catches a dropped or reordered chunk. With
encryption on, the plaintext never touches the disk: pg_dump writes into a pipe that
is encrypted as it comes, and a restore decrypts into pg_restore's standard input.
The manifest then carries an HMAC made with the key, and a restore with the key
refuses a manifest without a valid one — so a plaintext dump planted beside a
forged manifest ("encrypted": false) is never restored.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import dj_database_url
import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

MANIFEST_VERSION = 1
ENCRYPTION_CHUNK_BYTES = 16 * 1024 * 1024
_HASH_BLOCK = 1024 * 1024
# Row text depends on these session settings (timestamps, floats); fixed for both sides.
_STABLE_SESSION = (
    "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1; SET IntervalStyle = 'postgres'"
)


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Database:
    """Where to connect, without putting the password on a command line."""

    name: str
    host: str
    port: str
    user: str
    password: str

    @classmethod
    def from_settings(cls, settings_dict: Mapping[str, Any]) -> Database:
        if not settings_dict["ENGINE"].endswith(("postgresql", "postgis")):
            raise BackupError("backups need PostgreSQL (DATABASE_URL=postgres://…)")
        return cls(
            name=settings_dict["NAME"],
            host=settings_dict.get("HOST") or "",
            port=str(settings_dict.get("PORT") or ""),
            user=settings_dict.get("USER") or "",
            password=settings_dict.get("PASSWORD") or "",
        )

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls.from_settings(dj_database_url.parse(url))

    def with_name(self, name: str) -> Database:
        return Database(name=name, host=self.host, port=self.port, user=self.user, password=self.password)

    def connect(self, **options: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(
            dbname=self.name,
            host=self.host or None,
            port=self.port or None,
            user=self.user or None,
            password=self.password or None,
            connect_timeout=10,
            **options,
        )

    def libpq_environment(self) -> dict[str, str]:
        """For pg_dump/pg_restore: PG* variables, so the password is not visible in ``ps``."""
        environment = {**os.environ, "PGDATABASE": self.name}
        for variable, value in (
            ("PGHOST", self.host),
            ("PGPORT", self.port),
            ("PGUSER", self.user),
            ("PGPASSWORD", self.password),
        ):
            if value:
                environment[variable] = value
        return environment


@dataclass(frozen=True)
class BackupResult:
    dump: Path
    manifest: Path
    tables: int
    rows: int


# --- checksums ----------------------------------------------------------------------------


def _tables(cursor: psycopg.Cursor[Any]) -> list[tuple[str, list[str]]]:
    """Every ordinary table in the public schema with its primary-key columns."""
    cursor.execute(
        """
        SELECT c.relname,
               coalesce(array_agg(a.attname ORDER BY array_position(i.indkey::int2[], a.attnum))
                        FILTER (WHERE a.attname IS NOT NULL), '{}')
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
        WHERE c.relkind IN ('r', 'p')
        GROUP BY c.relname
        ORDER BY c.relname
        """
    )
    return [(name, list(keys)) for name, keys in cursor.fetchall()]


def table_figures(cursor: psycopg.Cursor[Any], table: str, key: list[str]) -> dict[str, Any]:
    """Row count and an MD5 over every row's text in primary-key order, in one scan.

    Each row is hashed first, so the aggregate holds 32 bytes per row, not the rows.
    """
    order = (
        sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(column)) for column in key)
        if key
        else sql.SQL("t::text")  # no primary key: the row's text is the order
    )
    cursor.execute(
        sql.SQL("SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY {}), '')) FROM {} AS t").format(
            order, sql.Identifier(table)
        )
    )
    count, checksum = _one_row(cursor)
    return {"rows": count, "checksum": checksum}


def _one_row(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    row = cursor.fetchone()
    if row is None:
        raise BackupError("the database answered a one-row query with no row")
    return tuple(row)


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    """A child's stdin or stdout opened with ``subprocess.PIPE`` (never ``None`` then)."""
    if stream is None:
        raise BackupError("the child process has no pipe")
    return stream


def database_figures(cursor: psycopg.Cursor[Any]) -> dict[str, dict[str, Any]]:
    cursor.execute(_STABLE_SESSION)
    return {table: table_figures(cursor, table, key) for table, key in _tables(cursor)}


# --- files ------------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _fernet(key: str) -> Fernet:
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.encode())
    except ValueError:
        raise BackupError(
            "BACKUP_ENCRYPTION_KEY is not a Fernet key (make one with: python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")'
        ) from None


def encrypt_stream(plain: IO[bytes], target: Path, *, key: str) -> str:
    """Encrypt a stream chunk by chunk into ``target``; returns the plaintext's SHA-256."""
    fernet = _fernet(key)
    digest = hashlib.sha256()
    with target.open("wb") as sealed:
        while chunk := plain.read(ENCRYPTION_CHUNK_BYTES):
            digest.update(chunk)
            sealed.write(fernet.encrypt(chunk) + b"\n")
    return digest.hexdigest()


def decrypted_chunks(source: Path, *, key: str) -> Iterator[bytes]:
    from cryptography.fernet import InvalidToken

    fernet = _fernet(key)
    with source.open("rb") as sealed:
        for number, line in enumerate(sealed, start=1):
            try:
                yield fernet.decrypt(line.rstrip(b"\n"))
            except InvalidToken:
                raise BackupError(
                    f"cannot decrypt chunk {number}: wrong BACKUP_ENCRYPTION_KEY or a damaged file"
                ) from None


def _manifest_mac(manifest: dict[str, Any], key: str) -> str:
    # Its own key, derived from the encryption key: one secret to keep, two uses kept apart.
    mac_key = hashlib.sha256(b"parcel backup manifest\x00" + key.encode()).digest()
    body = json.dumps({k: v for k, v in manifest.items() if k != "hmac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(mac_key, body.encode(), hashlib.sha256).hexdigest()


# --- backup -----------------------------------------------------------------------------------


def database_backup(*, database: Database, directory: Path, encryption_key: str = "") -> BackupResult:
    """Dump the database and write its manifest. Consistent: one snapshot for both."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = directory / f"parcel-{stamp}"
    dump = base.with_suffix(".dump.enc" if encryption_key else ".dump")
    with database.connect(autocommit=False) as connection, connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        snapshot, server_version = _one_row(cursor)
        # The snapshot lives as long as this transaction: dump while it is open.
        command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"]
        if encryption_key:
            dump_sha256 = _dump_encrypted(command, database, dump, key=encryption_key)
        else:
            _run([*command, "-f", str(dump)], database)
            dump_sha256 = file_sha256(dump)
        tables = database_figures(cursor)
        connection.rollback()
    manifest: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": database.name,
        "server_version": server_version,
        "dump_sha256": dump_sha256,
        "encrypted": bool(encryption_key),
        "tables": tables,
        "file_sha256": file_sha256(dump) if encryption_key else dump_sha256,
        "file": dump.name,
    }
    if encryption_key:
        manifest["hmac"] = _manifest_mac(manifest, encryption_key)
    manifest_path = base.with_suffix(".manifest.json")
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return BackupResult(
        dump=dump,
        manifest=manifest_path,
        tables=len(tables),
        rows=sum(figures["rows"] for figures in tables.values()),
    )


def _dump_encrypted(command: list[str], database: Database, target: Path, *, key: str) -> str:
    """pg_dump into a pipe, encrypted as it comes: no plaintext file. Returns its SHA-256."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - fixed executable, arguments are ours
            command, env=database.libpq_environment(), stdout=subprocess.PIPE, stderr=errors
        )
        output = _pipe(process.stdout)
        try:
            digest = encrypt_stream(output, target, key=key)
        finally:
            output.close()
            returncode = process.wait()
        if returncode != 0:
            target.unlink(missing_ok=True)
            errors.seek(0)
            raise BackupError(f"pg_dump failed: {errors.read().decode(errors='replace').strip()[-2000:]}")
    return digest


def _run(command: list[str], database: Database) -> None:
    result = subprocess.run(  # noqa: S603 - fixed executables, arguments are ours
        command, env=database.libpq_environment(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")


# --- restore ----------------------------------------------------------------------------------


def manifest_read(path: Path, *, encryption_key: str = "") -> dict[str, Any]:
    """The manifest; with a key, only one whose HMAC that key made (see the module's docstring)."""
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"cannot read the manifest {path}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION:
        raise BackupError(f"{path} is not a version {MANIFEST_VERSION} backup manifest")
    if encryption_key and not hmac.compare_digest(
        str(manifest.get("hmac", "")), _manifest_mac(manifest, encryption_key)
    ):
        raise BackupError(
            f"{path} is not signed with this BACKUP_ENCRYPTION_KEY: refusing a manifest that may be forged"
        )
    return manifest


def _restore_source(manifest_path: Path, manifest: dict[str, Any], *, encryption_key: str) -> Path:
    """The checked dump file (encrypted or not) the manifest names."""
    dump: Path = manifest_path.parent / manifest["file"]
    if not dump.exists():
        raise BackupError(f"the dump {dump} named by the manifest is missing")
    if file_sha256(dump) != manifest["file_sha256"]:
        raise BackupError(f"{dump.name} does not match its manifest (SHA-256 differs): damaged or replaced")
    if manifest["encrypted"]:
        if not encryption_key:
            raise BackupError("the backup is encrypted: set BACKUP_ENCRYPTION_KEY")
        # A first pass only hashes: the plaintext is checked whole before pg_restore sees any of it.
        digest = hashlib.sha256()
        for chunk in decrypted_chunks(dump, key=encryption_key):
            digest.update(chunk)
        if digest.hexdigest() != manifest["dump_sha256"]:
            raise BackupError("the decrypted dump does not match its manifest (chunks missing or reordered)")
    return dump


def database_restore(*, manifest_path: Path, target: Database, create: bool, encryption_key: str = "") -> None:
    """Restore a backup into a fresh database (created with ``create``); refuses a
    database that already has tables, so a restore never lands on live data."""
    manifest = manifest_read(manifest_path, encryption_key=encryption_key)
    dump = _restore_source(manifest_path, manifest, encryption_key=encryption_key)
    if create:
        with target.with_name("postgres").connect(autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name)))
    with target.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        (existing,) = _one_row(cursor)
    if existing:
        raise BackupError(f"database {target.name!r} already has {existing} tables: restore into a fresh one")
    command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "-d", target.name]
    if not manifest["encrypted"]:
        _run([*command, str(dump)], target)
        return
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - fixed executable, arguments are ours
            command, env=target.libpq_environment(), stdin=subprocess.PIPE, stderr=errors
        )
        source = _pipe(process.stdin)
        try:
            for chunk in decrypted_chunks(dump, key=encryption_key):
                source.write(chunk)
        except BrokenPipeError:
            pass  # pg_restore stopped early; its exit status and message say why
        finally:
            with contextlib.suppress(BrokenPipeError):
                source.close()
            returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            raise BackupError(f"pg_restore failed: {errors.read().decode(errors='replace').strip()[-2000:]}")


@dataclass(frozen=True)
class Difference:
    table: str
    expected: dict[str, Any] | None
    found: dict[str, Any] | None


def restore_verify(*, manifest_path: Path, target: Database, encryption_key: str = "") -> tuple[int, list[Difference]]:
    """Compare the restored database with the manifest: returns (tables checked, differences)."""
    manifest = manifest_read(manifest_path, encryption_key=encryption_key)
    with target.connect() as connection, connection.cursor() as cursor:
        found = database_figures(cursor)
    expected = manifest["tables"]
    differences = [
        Difference(table=table, expected=expected.get(table), found=found.get(table))
        for table in sorted(set(expected) | set(found))
        if expected.get(table) != found.get(table)
    ]
    return len(expected), differences
