"""Test helper: send what the outbox holds, as a worker would, and say what happened."""

from __future__ import annotations

from django.utils import timezone

from notifications.models import Notification, Status
from notifications.sending import notifications_send


def outbox_deliver(*, make_due: bool = False) -> dict[int, str]:
    """Send every pending message (``make_due``: also those waiting for a retry or quiet hours)."""
    pending = Notification.objects.filter(status=Status.PENDING)
    if make_due:
        pending.update(next_attempt_at=timezone.now())
    return notifications_send(
        ids=list(pending.filter(next_attempt_at__lte=timezone.now()).values_list("pk", flat=True))
    )
