"""Celery entry points of the outbox: thin, each calls one service."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from notifications.sending import notifications_send_task_run
from notifications.services import notifications_dispatch_event, notifications_sweep


@shared_task(ignore_result=True)
def send_notifications(notification_ids: list[int]) -> dict[str, int]:
    """Send a chunk of messages, many in flight. Each is claimed first, so a repeated
    or duplicated task sends nothing twice; late ack is not needed (the sweeper re-queues)."""
    return notifications_send_task_run(ids=notification_ids)


@shared_task(ignore_result=True)
def dispatch_event(event_key: str | None = None, event_type: str | None = None, since: str | None = None) -> int:
    """Queue an event's messages in chunks, off the web request."""
    return notifications_dispatch_event(
        event_key=event_key, event_type=event_type, since=datetime.fromisoformat(since) if since else None
    )


@shared_task(ignore_result=True)
def sweep_notifications() -> dict[str, int]:
    """Beat, every minute: re-queue what is due and unqueued; free rows whose sender died."""
    return notifications_sweep()
