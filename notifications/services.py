"""The outbox's own work: queue what is due, sweep what was lost, retry on request.

Guarantees, and what gives them:
- one message per (event, recipient, channel): unique constraints, and every
  insert skips conflicts (``outbox.py``);
- nothing lost: rows are written in the event's transaction; the sweeper
  queues any that are due and not queued, or whose task or sender died;
- nothing sent twice: a row is claimed (pending → sending) before the provider
  is called (``sending.py``). The exception is a sender that died with messages in
  flight: at most ``NOTIFICATION_MAX_IN_FLIGHT`` of them, freed after the lease
  and marked ``uncertain``.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.queue import enqueue
from notifications.models import Channel, Notification, Status
from notifications.receipts import pending_receipts_expire, receipts_waiting_apply
from notifications.sending import SEND_TASK

logger = logging.getLogger(__name__)

# Ids per send task: a task works through them with NOTIFICATION_MAX_IN_FLIGHT
# in flight, a few seconds at typhoon rates (fewer tasks on the broker, less
# time lost between tasks), and stops at its budget (sending.TASK_BUDGET_SECONDS)
# whatever the SMS rate, queuing the rest.
DISPATCH_CHUNK = 1000
# Rows the sweeper queues per run (one run a minute); 10⁵ held for quiet hours are
# queued in two runs when the morning comes.
SWEEP_BATCH = 60_000
# A receipt waits this long for its message's id, then it is for an attempt we never recorded.
PENDING_RECEIPT_MAX_AGE = timedelta(days=1)


def notifications_dispatch(*, pending: QuerySet[Notification], limit: int | None = None) -> int:
    """Queue the due pending rows of ``pending`` in chunks; returns how many were queued."""
    now = timezone.now()
    rows = list(
        pending.filter(status=Status.PENDING, next_attempt_at__lte=now)
        # Queued longer ago than a lease and still pending: its task was lost
        # (a worker killed with messages prefetched, a broker restart).
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - settings.NOTIFICATION_LEASE))
        .order_by("id")
        .values_list("id", "channel")[:limit]
    )
    # Customers' SMS and email share tasks; webhook deliveries and chat messages go in
    # tasks of their own, so a dead endpoint never holds a customer's message.
    customers = _channels_interleaved([row for row in rows if row[1] in (Channel.SMS, Channel.EMAIL)])
    others = [notification_id for notification_id, channel in rows if channel not in (Channel.SMS, Channel.EMAIL)]
    queued = 0
    for ids in (customers, others):
        for start in range(0, len(ids), DISPATCH_CHUNK):
            chunk = ids[start : start + DISPATCH_CHUNK]
            # Stamped (and committed) before the task exists: a sender that picked the
            # task up at once would find the rows locked by this UPDATE and skip them.
            Notification.objects.filter(id__in=chunk).update(queued_at=now)
            if not enqueue(SEND_TASK, chunk):
                Notification.objects.filter(id__in=chunk, queued_at=now).update(queued_at=None)
                return queued
            queued += len(chunk)
    return queued


def _channels_interleaved(rows: list[tuple[int, str]]) -> list[int]:
    """SMS and email taken in turn, so each task carries both: a worker's SMS wait on
    the provider while its email lanes work, instead of one channel after the other."""
    by_channel: dict[str, list[int]] = {}
    for notification_id, channel in rows:
        by_channel.setdefault(channel, []).append(notification_id)
    interleaved: list[int] = []
    for group in itertools.zip_longest(*by_channel.values()):
        interleaved.extend(notification_id for notification_id in group if notification_id is not None)
    return interleaved


def notifications_dispatch_event(
    *, event_key: str | None = None, event_type: str | None = None, since: datetime | None = None
) -> int:
    """Queue one event's messages, or one type's written since a moment."""
    pending = Notification.objects.all()
    if event_key:
        pending = pending.filter(event_key=event_key)
    if event_type:
        pending = pending.filter(event_type=event_type)
    if since is not None:
        pending = pending.filter(created_at__gte=since)
    return notifications_dispatch(pending=pending)


def notifications_sweep() -> dict[str, int]:
    """Beat, every minute: nothing pending is forgotten, nothing claimed is stranded.

    A row left in ``sending`` past its lease (its sender died) goes back to
    pending, marked ``uncertain`` (the provider may have it already), or fails
    when it has had its last attempt: a message that kills its sender every time
    cannot cycle through the lease for ever.
    """
    now = timezone.now()
    expired = Notification.objects.filter(status=Status.SENDING, claimed_at__lt=now - settings.NOTIFICATION_LEASE)
    with transaction.atomic():
        given_up = expired.filter(attempts__gte=settings.NOTIFICATION_MAX_ATTEMPTS).update(
            status=Status.FAILED,
            uncertain=True,
            claimed_at=None,
            last_error="gave up: its sender stopped mid-send on the last attempt",
        )
        stranded = expired.update(
            status=Status.PENDING,
            uncertain=True,
            queued_at=None,
            claimed_at=None,
            last_error="lease expired: the sender stopped mid-send",
        )
    queued = notifications_dispatch(pending=Notification.objects.all(), limit=SWEEP_BATCH)
    receipts = receipts_waiting_apply()
    pending_receipts_expire(older_than=PENDING_RECEIPT_MAX_AGE)
    if stranded or given_up or queued or receipts:
        logger.info(
            "notification sweep",
            extra={"stranded": stranded, "given_up": given_up, "queued": queued, "receipts_applied": receipts},
        )
    return {"stranded": stranded, "given_up": given_up, "queued": queued}


def notifications_retry_failed(*, notifications: QuerySet[Notification]) -> int:
    """Staff action: failed and undelivered rows become pending again (attempts reset).

    Consent is checked again when each is sent, and the provider id of the failed
    attempt is forgotten, so its late receipt cannot mark the new one.
    """
    now = timezone.now()
    retried = notifications.filter(status__in=[Status.FAILED, Status.UNDELIVERED])
    ids = list(retried.values_list("pk", flat=True))
    count = Notification.objects.filter(pk__in=ids).update(
        status=Status.PENDING,
        attempts=0,
        next_attempt_at=now,
        queued_at=None,
        last_error="",
        provider_message_id="",
        provider_status="",
    )
    transaction.on_commit(lambda: notifications_dispatch(pending=Notification.objects.filter(pk__in=ids)))
    return count


def notifications_resend(*, notifications: QuerySet[Notification]) -> int:
    """Staff action on webhook deliveries, whatever became of them: send again, with the
    same ``webhook-id``, so a receiver that has one already can tell and drop it."""
    ids = list(
        notifications.filter(channel=Channel.WEBHOOK)
        .exclude(status__in=[Status.PENDING, Status.SENDING])
        .values_list("pk", flat=True)
    )
    count = Notification.objects.filter(pk__in=ids).update(
        status=Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        queued_at=None,
        last_error="",
        provider_message_id="",
        provider_status="",
    )
    transaction.on_commit(lambda: notifications_dispatch(pending=Notification.objects.filter(pk__in=ids)))
    return count
