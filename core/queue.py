"""The one seam through which a service hands work to a Celery task.

Producers name the task; they never import the module that consumes it, so a
service and its task do not import each other (the task imports the service).
A dead broker is logged, never raised into the caller: every queued job here is
backed by a row that a sweeper finds and queues again.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args: object, countdown: float | None = None) -> bool:
    """Queue ``task_name`` now; ``False`` (logged) when the broker cannot be reached."""
    try:
        current_app.send_task(task_name, args=list(args), countdown=countdown, retry=False)
    except Exception as error:  # noqa: BLE001 - broker down: the caller's rows wait for the sweeper
        logger.warning(
            "broker unreachable; the sweeper will queue it", extra={"task": task_name, "error": type(error).__name__}
        )
        return False
    return True


def enqueue_on_commit(task_name: str, *args: object, countdown: float | None = None) -> None:
    """Queue ``task_name`` once the caller's transaction commits (never for a rolled-back one)."""
    transaction.on_commit(lambda: enqueue(task_name, *args, countdown=countdown))
