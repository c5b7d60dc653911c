from __future__ import annotations

from celery import shared_task

from components.messaging import maintenance_announce
from components.services import maintenances_advance


@shared_task(ignore_result=True)
def advance_maintenances() -> None:
    """Beat, every minute: start and end maintenance windows on time. Idempotent."""
    maintenances_advance()


@shared_task(ignore_result=True)
def announce_maintenance(maintenance_id: int) -> int:
    """Tell status-page subscribers of the maintenance's current state. Idempotent."""
    return maintenance_announce(maintenance_id=maintenance_id)
