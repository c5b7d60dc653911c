from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone

from core.models import WorkerHeartbeat


def worker_heartbeat_record(*, worker: str) -> None:
    """Upsert the worker's last-seen time (one row per worker, safe to repeat)."""
    WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"seen_at": timezone.now()})


# A busy worker shows it is alive by finishing tasks; at most one write per worker this often.
TASK_HEARTBEAT_EVERY_SECONDS = 15


def worker_heartbeat_note(*, worker: str) -> None:
    """After each finished task: a heartbeat, at most every 15 s per worker.

    Beat's heartbeat task waits in the queue behind a large fan-out's send tasks and
    expires there, which made /healthz report a working worker as down for the whole
    fan-out (found by the fault suite). A finished task proves worker and broker just
    as well. Safe to call often: the cache decides, one upsert when it says so.
    """
    try:
        due = cache.add(f"worker-heartbeat:{worker}", 1, timeout=TASK_HEARTBEAT_EVERY_SECONDS)
    except Exception:  # noqa: BLE001 - no cache: skip; beat's heartbeat still comes when the queue allows
        return
    if due:
        worker_heartbeat_record(worker=worker)
