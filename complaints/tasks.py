from __future__ import annotations

from celery import shared_task

from complaints.services import complaint_deadlines_sweep


@shared_task(ignore_result=True)
def sweep_complaint_deadlines() -> dict[str, int]:
    """Beat, every minute: reminders before the reply deadline, escalation at it. Fires each once."""
    return complaint_deadlines_sweep()
