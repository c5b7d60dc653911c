from __future__ import annotations

from django.utils import timezone

from core.models import WorkerHeartbeat


def worker_heartbeat_record(*, worker: str) -> None:
    """Upsert the worker's last-seen time (one row per worker, safe to repeat)."""
    WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"seen_at": timezone.now()})
