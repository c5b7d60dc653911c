"""The Celery application. Settings come from Django's, prefixed ``CELERY_``."""

import os

from celery import Celery, signals

from config.jobs import TASK_ANNOTATIONS
from core.logging import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("parcel_incident")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Per-task acks_late and time limits, from the one table of jobs: config/jobs.py.
app.conf.task_annotations = TASK_ANNOTATIONS
app.autodiscover_tasks()


@signals.task_prerun.connect
def _bind_task_id_to_logs(task_id: str, **_: object) -> None:
    request_id_var.set(f"task-{task_id}")


@signals.task_postrun.connect
def _unbind_task_id_from_logs(**_: object) -> None:
    request_id_var.set("-")


@signals.task_success.connect
def _note_worker_alive(sender: object = None, **_: object) -> None:
    # Every finished task counts as a heartbeat (core.services.worker_heartbeat_note).
    from core.services import worker_heartbeat_note

    hostname = getattr(getattr(sender, "request", None), "hostname", None)
    if hostname:
        worker_heartbeat_note(worker=hostname)


@signals.worker_ready.connect
def _announce_worker(**_: object) -> None:
    # A first heartbeat through the broker, so /healthz turns green as soon as
    # the worker is up rather than at beat's first tick.
    app.send_task("core.tasks.record_worker_heartbeat")
