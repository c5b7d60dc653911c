from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def advance_maintenances() -> None:
    """Beat, every minute: start and end maintenance windows on time. Idempotent."""
    from components.services import maintenances_advance

    maintenances_advance()
