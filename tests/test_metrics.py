"""/metrics: protected, and the figures it shows are the database's and the broker's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from complaints.services import complaint_file
from core import roles
from incidents.models import Severity
from notifications.models import Notification
from tests.factories import CustomerFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


def _sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


def test_metrics_refuse_anonymous_and_wrong_token(client, token):
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_metrics_refuse_staff_without_the_permission(client):
    client.force_login(UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))
    assert client.get("/metrics").status_code == 403


def test_supervisor_can_read_metrics_signed_in(client):
    client.force_login(UserFactory(role=roles.SUPERVISOR))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_metrics_show_incidents_complaints_and_messages(client, token):
    for severity in (Severity.CRITICAL, Severity.CRITICAL, Severity.MINOR):
        declare_incident(severity=severity)
    customer = CustomerFactory()
    complaint_file(customer=customer, reason="delayed", description="还没到", channel="phone")
    complaint_file(
        customer=customer,
        reason="delayed",
        description="还没到",
        channel="phone",
        now=timezone.now() - timedelta(hours=settings.COMPLAINT_REPLY_HOURS + 1),
    )
    sent = Notification.objects.filter(channel="sms").order_by("id").first()
    Notification.objects.filter(pk=sent.pk).update(
        status="sent", created_at=timezone.now() - timedelta(seconds=4), sent_at=timezone.now()
    )

    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()

    assert _sample(text, "parcel_open_incidents", severity="1") == 2
    assert _sample(text, "parcel_open_incidents", severity="4") == 1
    assert _sample(text, "parcel_complaint_replies_owed", state="due") == 1
    assert _sample(text, "parcel_complaint_replies_owed", state="overdue") == 1
    pending_sms = Notification.objects.filter(status="pending", channel="sms").count()
    assert pending_sms > 0
    assert _sample(text, "parcel_notifications", status="pending", channel="sms") == pending_sms
    assert _sample(text, "parcel_notifications", status="sent", channel="sms") == 1
    assert 3.5 < _sample(text, "parcel_notification_send_latency_seconds", channel="sms", quantile="0.5") < 10
    assert _sample(text, "parcel_metrics_source_up", source="database") == 1


def test_metrics_show_the_broker_queue_depth(client, token, settings):
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.lpush(queue, "a", "b", "c")
    try:
        text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    finally:
        broker.delete(queue)

    assert _sample(text, "parcel_celery_queue_depth", queue=queue) == 3
    assert _sample(text, "parcel_metrics_source_up", source="broker") == 1


def test_request_latency_is_recorded_by_route(client, token):
    client.get("/track/")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()

    count = _sample(text, "parcel_http_request_duration_seconds_count", method="GET", route="track/", status="2xx")
    assert count is not None and count >= 1


def test_request_metrics_add_up_across_gunicorn_workers(db, tmp_path, token):
    """Two gunicorn workers with PROMETHEUS_MULTIPROC_DIR, as deployed: whichever
    worker answers the scrape, it counts the requests both served."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    from django.db import connection

    root = Path(__file__).resolve().parent.parent
    database = connection.settings_dict
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "METRICS_TOKEN": token,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=root,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def get(path: str, **headers: str) -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own local server
                return response.read().decode()
        except urllib.error.HTTPError as error:  # /healthz says 503 without a worker: still a request
            return error.read().decode()

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        for _ in range(20):
            get("/healthz")
        counts = []
        for _ in range(4):
            text = get("/metrics", Authorization=f"Bearer {token}")
            counts.append(
                sum(
                    sample.value
                    for family in text_string_to_metric_families(text)
                    for sample in family.samples
                    if sample.name == "parcel_http_request_duration_seconds_count"
                    and sample.labels.get("route") == "healthz"
                )
            )
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert counts == [20, 20, 20, 20]
