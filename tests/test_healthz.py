from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import WorkerHeartbeat
from core.services import worker_heartbeat_record
from tests.conftest import broker_unreachable

pytestmark = pytest.mark.django_db


def test_healthy_when_database_broker_and_a_recent_worker_answer(client):
    worker_heartbeat_record(worker="celery@test")

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True, "detail": "postgresql"}
    assert body["checks"]["broker"] == {"ok": True, "detail": "redis"}
    assert body["checks"]["worker"]["ok"] is True


def test_unhealthy_before_any_worker_answered(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {"ok": False, "detail": "no worker heartbeat yet"}


def test_unhealthy_when_the_last_heartbeat_is_stale(client):
    WorkerHeartbeat.objects.create(worker="celery@old", seen_at=timezone.now() - timedelta(minutes=10))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["detail"].startswith("last heartbeat 6")


def test_unhealthy_when_the_broker_is_unreachable(client):
    worker_heartbeat_record(worker="celery@test")
    with broker_unreachable():
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True


def test_heartbeat_is_one_row_per_worker():
    worker_heartbeat_record(worker="celery@a")
    worker_heartbeat_record(worker="celery@a")

    assert WorkerHeartbeat.objects.count() == 1


def test_public_health_output_names_the_failed_check_without_its_error_text(client):
    worker_heartbeat_record(worker="celery@test")
    with broker_unreachable():
        body = client.get("/healthz").content.decode()

    assert '"broker": {"ok": false, "detail": "unreachable"}' in body
    assert "127.0.0.1" not in body and "Error" not in body
