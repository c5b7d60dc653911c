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


@pytest.mark.django_db(transaction=True)
def test_large_link_runs_as_a_job_on_the_worker_and_reports_progress(celery_worker, settings):
    from core import roles
    from incidents.linking import LinkCriteria, link_job_start
    from incidents.models import AffectedOrder, LinkJob
    from tests.factories import OrderFactory, UserFactory, declare_incident

    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    OrderFactory.create_batch(5, hub="武汉转运中心")

    job = link_job_start(incident=incident, criteria=LinkCriteria(hubs=["武汉转运中心"]), actor=manager)

    deadline = time.monotonic() + 20
    while LinkJob.objects.get(pk=job.pk).state != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
    job.refresh_from_db()
    assert (job.state, job.linked, job.progress_percent) == ("done", 5, 100)
    assert AffectedOrder.objects.filter(incident=incident).count() == 5
