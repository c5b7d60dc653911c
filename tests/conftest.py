from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from core import roles
from core.services import api_token_issue
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Services called directly speak English in tests; requests still pick their
    language (Chinese by default) through LocaleMiddleware."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    from portal.published import memo_reset
    from portal.templatetags.portal_layout import fragments_forget

    cache.clear()
    fragments_forget()
    memo_reset()  # each test starts with no status page rendered, in Redis or in memory
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def client_with_role(role: str | None) -> APIClient:
    client = APIClient()
    user = UserFactory(role=role, is_staff=role not in (None, roles.INTEGRATION))
    token = api_token_issue(name=f"client {user.pk}", user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def monitoring_token(db) -> str:
    """The key of a monitoring account's token: it may post alerts and nothing else."""
    account = UserFactory(role=roles.MONITORING, is_staff=False)
    return api_token_issue(name="alertmanager", user=account).key


@pytest.fixture
def monitoring_client(monitoring_token) -> APIClient:
    """Authenticated as Alertmanager's ``http_config.authorization`` sends it."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {monitoring_token}")
    return client


@pytest.fixture
def integration_client(db) -> APIClient:
    return client_with_role(roles.INTEGRATION)


@pytest.fixture
def agent_client(db) -> APIClient:
    return client_with_role(roles.CUSTOMER_SERVICE_AGENT)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, fake_twilio_server, smtp_server):
    """A real Celery worker process on the test database and a private Redis queue.

    Tests that use it need ``transactional_db`` so the worker sees their rows.
    """
    from config.celery import app as celery_app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        database = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "QUIET_HOURS_START": "0",
        "QUIET_HOURS_END": "0",
        **provider_environment(fake_twilio_server, smtp_server),
    }
    log = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "2",
            "--queues",
            queue,
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        _wait_until(lambda: b"ready." in Path(log.name).read_bytes(), timeout=30, process=process, log=log.name)
        yield process
    finally:
        celery_app.conf.task_default_queue = previous_queue
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until(condition, *, timeout: float, process: subprocess.Popen, log: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Celery worker did not start; its log:\n{Path(log).read_text()[-3000:]}")
        time.sleep(0.2)


@pytest.fixture
def manager_client(db) -> APIClient:
    return client_with_role(roles.INCIDENT_MANAGER)


@pytest.fixture(scope="session")
def fake_twilio_server():
    from devtools.fake_twilio import FakeTwilio

    server = FakeTwilio().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server():
    from devtools.smtp_sink import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()


TWILIO_TEST_SID = "AC" + "0" * 32
TWILIO_TEST_TOKEN = "test-auth-token"


def provider_environment(twilio, smtp) -> dict[str, str]:
    """The settings that point our transports at the local stand-ins."""
    return {
        "TWILIO_ACCOUNT_SID": TWILIO_TEST_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TEST_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": twilio.base_url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_USE_TLS": "false",
    }


@pytest.fixture
def providers(settings, fake_twilio_server, smtp_server):
    """Twilio and SMTP stand-ins at the network boundary, emptied for this test."""
    fake_twilio_server.reset()
    smtp_server.reset()
    settings.TWILIO_ACCOUNT_SID = TWILIO_TEST_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_TEST_TOKEN
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE_URL = fake_twilio_server.base_url
    settings.SMS_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    settings.QUIET_HOURS_START = settings.QUIET_HOURS_END = 0  # no quiet hours unless a test sets them
    return fake_twilio_server, smtp_server


@contextmanager
def broker_unreachable():
    """Celery's broker is down, as while Redis restarts: publishing fails fast."""
    from config.celery import app as celery_app

    def point_at(url: str) -> None:
        # Forget pooled connections and producers, as a process started now would.
        celery_app.amqp._producer_pool = None
        celery_app._pool = None
        celery_app.conf.broker_url = url

    original = celery_app.conf.broker_url
    point_at("redis://127.0.0.1:9/0")
    try:
        yield
    finally:
        point_at(original)


@pytest.fixture(scope="session")
def quickstart_database(tmp_path_factory) -> Path:
    """A migrated database of the quick-start configuration (SQLite), to copy for each run."""
    from tests import quickstart

    var_dir = tmp_path_factory.mktemp("quickstart-template")
    quickstart.run("tests.quickstart:migrated", var_dir=var_dir)
    return var_dir / quickstart.DATABASE_FILE


@pytest.fixture
def hub_outage():
    """A published typhoon incident with a hub in major outage: what the status page shows in a crisis.
    The test's own django_db mark decides how the data is committed."""
    from components.models import ComponentStatus, ServiceComponent
    from tests.factories import declare_incident

    hub = ServiceComponent.objects.create(name_zh="广州白云转运中心", name_en="Guangzhou Baiyun hub")
    return declare_incident(title_en="Typhoon", component_impacts={hub.pk: ComponentStatus.MAJOR_OUTAGE})
