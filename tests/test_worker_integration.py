"""The beat task runs on a real worker through Redis and turns /healthz green."""

from __future__ import annotations

import time

import pytest

from core.models import WorkerHeartbeat
from core.tasks import record_worker_heartbeat


@pytest.mark.django_db(transaction=True)
def test_heartbeat_task_runs_on_a_real_worker_and_health_turns_green(celery_worker, client):
    # given no heartbeat (the worker's own one at start-up is cleared)
    WorkerHeartbeat.objects.all().delete()
    assert client.get("/healthz").status_code == 503

    record_worker_heartbeat.delay()

    deadline = time.monotonic() + 20
    while not WorkerHeartbeat.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    heartbeat = WorkerHeartbeat.objects.get()
    assert heartbeat.worker.startswith("celery@")
    assert client.get("/healthz").status_code == 200
