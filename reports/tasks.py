from __future__ import annotations

from celery import shared_task

from reports.services import follow_up_reminders_send


@shared_task(ignore_result=True)
def remind_follow_up_owners() -> int:
    """Beat, hourly: owners hear about their open follow-up items once a day. Safe with two beats."""
    return follow_up_reminders_send()
