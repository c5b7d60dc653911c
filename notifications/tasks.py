from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def send_notifications(notification_ids: list[int]) -> dict[str, int]:
    """Send a chunk of messages. Each is claimed first, so a repeated or duplicated
    task sends nothing twice; late ack is not needed (the sweeper re-queues)."""
    from notifications.services import notifications_send

    outcomes: dict[str, int] = {}
    for outcome in notifications_send(ids=notification_ids).values():
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@shared_task(ignore_result=True)
def dispatch_event(event_key: str) -> int:
    """Queue an event's messages in chunks, off the web request."""
    from notifications.services import notifications_dispatch_event

    return notifications_dispatch_event(event_key=event_key)


@shared_task(ignore_result=True)
def sweep_notifications() -> dict[str, int]:
    """Beat, every minute: re-queue what is due and unqueued; free rows whose sender died."""
    from notifications.services import notifications_sweep

    return notifications_sweep()


@shared_task(ignore_result=True, acks_late=True)
def fan_out_update(update_id: int) -> int:
    """Write and queue a large incident update's messages. Idempotent, so late ack is safe."""
    from notifications.services import incident_update_fan_out_deferred

    return incident_update_fan_out_deferred(update_id=update_id)


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_staff_email(subject: str, body: str, recipients: list[str]) -> None:
    """An alert to staff (reminders, escalations); retried while the mail server is unreachable."""
    from django.core.mail import send_mail

    send_mail(subject, body, None, recipients)
