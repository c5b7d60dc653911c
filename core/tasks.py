from __future__ import annotations

from celery import Task, shared_task

from core.services import worker_heartbeat_record


@shared_task(bind=True, ignore_result=True)
def record_worker_heartbeat(self: Task[[], None]) -> None:
    """Beat sends this every 30 s; /healthz reads the row. Idempotent."""
    worker_heartbeat_record(worker=self.request.hostname or "unknown")
