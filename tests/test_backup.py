"""Backup → restore into a fresh database → verify, on the test database; and the
ways a bad backup or a changed restore is caught."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from ops.backup import Database
from tests.factories import CouponFactory, OrderFactory, declare_incident

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def small_database():
    """A few rows in the key tables, committed so pg_dump sees them."""
    OrderFactory.create_batch(3)
    declare_incident()
    CouponFactory()


@pytest.fixture
def restore_target():
    source = Database.from_settings(connection.settings_dict)
    target = source.with_name(f"{source.name}_restore_{uuid.uuid4().hex[:6]}")
    url = f"postgres://{target.user}@{target.host}:{target.port}/{target.name}"
    if target.password:
        url = f"postgres://{target.user}:{target.password}@{target.host}:{target.port}/{target.name}"
    yield target, url
    with target.with_name("postgres").connect(autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')


def _backup(tmp_path: Path) -> Path:
    call_command("backup_db", output=tmp_path)
    (manifest,) = tmp_path.glob("*.manifest.json")
    return manifest


def test_backup_restores_into_a_fresh_database_and_verifies(small_database, tmp_path, restore_target, capsys):
    target, url = restore_target
    manifest_path = _backup(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    assert manifest["tables"]["orders_order"]["rows"] == 3
    assert manifest["tables"]["incidents_incident"]["rows"] == 1

    call_command("restore_db", manifest_path, database_url=url, create=True)
    call_command("verify_restore", manifest_path, database_url=url)

    assert "restore verified" in capsys.readouterr().out
    with target.connect() as restored:
        assert restored.execute("SELECT count(*) FROM orders_order").fetchone() == (3,)


def test_a_changed_row_in_the_restore_fails_verification(small_database, tmp_path, restore_target, capsys):
    target, url = restore_target
    manifest_path = _backup(tmp_path)
    call_command("restore_db", manifest_path, database_url=url, create=True)
    with target.connect(autocommit=True) as restored:
        restored.execute(
            "UPDATE orders_order SET destination_city = '广州' WHERE id = (SELECT min(id) FROM orders_order)"
        )

    with pytest.raises(CommandError, match="differs from the backup in 1 of"):
        call_command("verify_restore", manifest_path, database_url=url)
    assert "orders_order" in capsys.readouterr().err


def test_a_damaged_dump_is_refused_before_restoring(small_database, tmp_path, restore_target):
    _, url = restore_target
    manifest_path = _backup(tmp_path)
    dump = tmp_path / json.loads(manifest_path.read_text())["file"]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    with pytest.raises(CommandError, match="does not match its manifest"):
        call_command("restore_db", manifest_path, database_url=url, create=True)


def test_restore_refuses_a_database_that_has_tables(small_database, tmp_path):
    manifest_path = _backup(tmp_path)
    source = Database.from_settings(connection.settings_dict)
    url = f"postgres://{source.user}@{source.host}:{source.port}/{source.name}"

    with pytest.raises(CommandError, match="restore into a fresh one"):
        call_command("restore_db", manifest_path, database_url=url)


def test_encrypted_backup_restores_only_with_its_key(small_database, tmp_path, restore_target, settings, capsys):
    _, url = restore_target
    key = Fernet.generate_key().decode()
    settings.BACKUP_ENCRYPTION_KEY = key
    manifest_path = _backup(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    sealed = (tmp_path / manifest["file"]).read_bytes()
    assert manifest["encrypted"] and manifest["file"].endswith(".dump.enc")
    assert b"PGDMP" not in sealed and b"orders_order" not in sealed  # pg_dump's header and a table name

    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(CommandError, match="BACKUP_ENCRYPTION_KEY"):
        call_command("restore_db", manifest_path, database_url=url, create=True)

    settings.BACKUP_ENCRYPTION_KEY = key
    call_command("restore_db", manifest_path, database_url=url, create=True)
    call_command("verify_restore", manifest_path, database_url=url)
    assert "restore verified" in capsys.readouterr().out


def test_an_encrypted_backup_writes_no_plaintext_dump_and_signs_its_manifest(small_database, tmp_path, settings):
    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()

    manifest = json.loads(_backup(tmp_path).read_text())

    assert sorted(path.suffix for path in tmp_path.iterdir()) == [".enc", ".json"]
    assert manifest["encrypted"] is True and len(manifest["hmac"]) == 64


def test_a_planted_plaintext_dump_with_a_forged_manifest_is_refused(small_database, tmp_path, restore_target, settings):
    _target, url = restore_target
    plain_manifest = json.loads(_backup(tmp_path).read_text())  # a plaintext dump, as an intruder would plant
    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()
    forged = tmp_path / "forged.manifest.json"
    forged.write_text(json.dumps({**plain_manifest, "hmac": "0" * 64}))

    with pytest.raises(CommandError, match="may be forged"):
        call_command("restore_db", forged, database_url=url, create=True)
