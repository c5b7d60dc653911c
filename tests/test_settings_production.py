"""Production mode refuses insecure settings; malformed values stop start-up.

Each case imports the real settings module in a fresh interpreter with the
environment under test, exactly as gunicorn or ``manage.py`` would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECURE = {
    "DJANGO_ENV": "production",
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-production-secret-that-is-long-enough-" + "x" * 20,
    "ALLOWED_HOSTS": "status.example.com",
    "DATABASE_URL": "postgres://app@db.internal:5432/parcel",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "PUBLIC_BASE_URL": "https://status.example.com",
    "TRUSTED_PROXY_IPS": "10.0.0.2",
}
PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({name: getattr(settings, name, None) for name in "
    "['DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'LOG_FORMAT']}))"
)


def load_settings(overrides: dict[str, str | None], show: str = PRINT_SETTINGS) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if key not in SECURE and key != "DJANGO_SETTINGS_MODULE"
    }
    environment.update({"DJANGO_SETTINGS_MODULE": "config.settings", **SECURE})
    for key, value in overrides.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run(
        [sys.executable, "-c", show], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_secure_production_settings_start_with_hardening_on():
    result = load_settings({})

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "LOG_FORMAT": "json",
    }


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"DEBUG": "true"}, "DEBUG is on"),
        ({"SECRET_KEY": None}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is missing, too short"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS is empty"),
        ({"ALLOWED_HOSTS": "*"}, "contains '*'"),
        ({"DATABASE_URL": None}, "not the embedded SQLite database"),
        ({"DATABASE_URL": "sqlite:///tmp/x.sqlite3"}, "not the embedded SQLite database"),
        ({"REDIS_URL": None}, "the filesystem broker is for development"),
        ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL must be set to the https://"),
        ({"PUBLIC_BASE_URL": "http://status.example.com"}, "PUBLIC_BASE_URL must be set to the https://"),
    ],
)
def test_production_refuses_each_insecure_setting(overrides, complaint):
    result = load_settings(overrides)

    assert result.returncode != 0
    assert "Refusing to start with DJANGO_ENV=production" in result.stderr
    assert complaint in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be one of true/false"),
        ({"CONN_MAX_AGE": "forever"}, "CONN_MAX_AGE must be a whole number, got 'forever'"),
        ({"DATABASE_URL": "mysql://db/parcel"}, "DATABASE_URL must be a URL starting with postgres://"),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV must be one of development, test, production"),
        ({"CELERY_TASK_TIME_LIMIT": "5"}, "CELERY_TASK_TIME_LIMIT must be at least 10"),
    ],
)
def test_malformed_value_stops_start_up_with_a_clear_message(overrides, message):
    result = load_settings(overrides)

    assert result.returncode != 0
    assert message in result.stderr


def test_development_runs_on_embedded_defaults(tmp_path):
    result = load_settings(
        {
            "DJANGO_ENV": None,
            "DEBUG": None,
            "SECRET_KEY": None,
            "ALLOWED_HOSTS": None,
            "DATABASE_URL": None,
            "REDIS_URL": None,
            "VAR_DIR": str(tmp_path),
        }
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["DEBUG"] is True
    assert (tmp_path / "broker" / "queue").is_dir()


def test_production_warns_loudly_without_trusted_proxy_ips():
    without = load_settings({"TRUSTED_PROXY_IPS": None})
    with_proxy = load_settings({})

    assert without.returncode == 0, without.stderr
    assert "WARNING: DJANGO_ENV=production without TRUSTED_PROXY_IPS" in without.stderr
    assert "TRUSTED_PROXY_IPS" not in with_proxy.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"QUIET_HOURS_END": "24"}, "QUIET_HOURS_END must be at most 23, got 24"),
        ({"NOTIFICATION_MAX_IN_FLIGHT": "0"}, "NOTIFICATION_MAX_IN_FLIGHT must be at least 1, got 0"),
        ({"EMAIL_PROVIDER": "carrier-pigeon"}, "EMAIL_PROVIDER must be one of"),
        (
            {"EMAIL_PROVIDER": "postmark", "ANYMAIL_POSTMARK_SERVER_TOKEN": "x"},
            "ANYMAIL_WEBHOOK_SECRET (user:password) must be set",
        ),
    ],
)
def test_notification_settings_out_of_range_stop_start_up_naming_the_variable(overrides, message):
    result = load_settings(overrides)

    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(("value", "threshold"), [(None, 5), ("false", None)])
def test_prepared_statements_are_on_unless_a_pooler_needs_them_off(value, threshold):
    show = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold')))"
    )
    result = load_settings({"DATABASE_PREPARED_STATEMENTS": value}, show)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == threshold
