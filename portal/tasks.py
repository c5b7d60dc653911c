from __future__ import annotations

from celery import shared_task

from portal.published import mark_changed


@shared_task(ignore_result=True)
def rebuild_status_page() -> None:
    """Beat, every 5 minutes: catches bulk updates that send no signal, and the day's roll-over."""
    mark_changed()
