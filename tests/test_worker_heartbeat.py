"""A worker busy with other tasks still counts as alive for /healthz."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from core.models import WorkerHeartbeat
from notifications.tasks import sweep_notifications


@pytest.mark.django_db(transaction=True)
def test_any_finished_task_is_a_worker_heartbeat(celery_worker, client):
    # given no heartbeat and no beat: the worker's own one at start-up is cleared, and so is the
    # 15-second throttle it may have set after the cache was emptied for this test (the task's
    # heartbeat would wait for it, past the deadline below)
    WorkerHeartbeat.objects.all().delete()
    cache.clear()

    # when the worker finishes a task that is not the heartbeat
    sweep_notifications.delay()

    deadline = time.monotonic() + 20
    while not WorkerHeartbeat.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert WorkerHeartbeat.objects.get().worker.startswith("celery@")
    assert client.get("/healthz").status_code == 200
