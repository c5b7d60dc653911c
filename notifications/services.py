"""The outbox: fan out, dispatch, send, sweep.

Guarantees, and what gives them:
- one message per (event, customer, channel): a unique constraint, and every
  insert is ``ON CONFLICT DO NOTHING``;
- nothing lost: rows are written in the event's transaction; the sweeper
  re-queues any that are due and not queued, or whose sender died mid-send;
- nothing sent twice: a row is claimed by a conditional ``UPDATE`` from pending
  to sending before the provider is called. The exception is a provider call
  cut off mid-flight, retried and marked ``uncertain``.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Case, CharField, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from core.bulk import insert_from_select
from customers.models import Customer
from notifications.models import Channel, EventType, Notification, Status

logger = logging.getLogger(__name__)

# Ids per Celery task: a task stays short (SMS_RATE_PER_SECOND × a few seconds)
# and a 10⁵ fan-out is a few hundred messages on the broker, not 10⁵.
DISPATCH_CHUNK = 500
# Rows claimed at a time within a task: a claimed batch is sent well within the
# lease (50 messages at the shared SMS rate), so the sweeper never hands a row
# to a second worker while the first is still on its way to it.
CLAIM_BATCH = 50
# Rows the sweeper hands out per run; the next minute takes the rest.
SWEEP_BATCH = 20_000
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


# --- fan-out ------------------------------------------------------------------------------


def quiet_hours_release(now: datetime) -> datetime:
    """When a non-critical SMS written at ``now`` may go out."""
    local = timezone.localtime(now)
    start, end = settings.QUIET_HOURS_START, settings.QUIET_HOURS_END
    in_quiet = (local.hour >= start or local.hour < end) if start > end else (start <= local.hour < end)
    if not in_quiet:
        return now
    release = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return release


def notifications_fan_out(
    *,
    customers: QuerySet[Customer],
    event_type: str,
    event_key: str,
    channels: list[str],
    critical: bool = False,
    incident_id: int | None = None,
    incident_update_id: int | None = None,
) -> int:
    """Write one row per customer and channel for this event, in the caller's transaction.

    Set-based: one ``INSERT … SELECT`` per channel whatever the number of
    customers; a customer who refused the channel, or has no address for it, gets
    a ``suppressed`` row. Running it twice for the same event adds nothing.
    Returns the rows written.
    """
    now = timezone.now()
    written = 0
    for channel in channels:
        if channel == Channel.SMS:
            refused = Q(sms_consent=False) | Q(phone="")
            recipient = F("phone")
            due = now if critical else quiet_hours_release(now)
        else:
            refused = Q(email_consent=False) | Q(email="")
            recipient = F("email")
            due = now
        rows = (
            customers.order_by()
            .annotate(
                n_event_type=Value(event_type, output_field=CharField()),
                n_event_key=Value(event_key, output_field=CharField()),
                n_channel=Value(channel, output_field=CharField()),
                n_recipient=recipient,
                n_incident=Cast(Value(incident_id), output_field=IntegerField()),
                n_update=Cast(Value(incident_update_id), output_field=IntegerField()),
                n_critical=Value(critical, output_field=BooleanField()),
                n_status=Case(
                    When(refused, then=Value(Status.SUPPRESSED)),
                    default=Value(Status.PENDING),
                    output_field=CharField(),
                ),
                n_error=Case(
                    When(refused, then=Value("customer refused this channel or has no address")),
                    default=Value(""),
                    output_field=CharField(),
                ),
                n_empty=Value("", output_field=CharField()),
                n_zero=Value(0, output_field=IntegerField()),
                n_false=Value(False, output_field=BooleanField()),
                n_due=Value(due, output_field=DateTimeField()),
                n_now=Value(now, output_field=DateTimeField()),
            )
            .values_list(
                "n_event_type",
                "n_event_key",
                "id",
                "n_channel",
                "language",
                "n_recipient",
                "n_incident",
                "n_update",
                "n_critical",
                "n_empty",
                "n_empty",
                "n_status",
                "n_empty",
                "n_empty",
                "n_zero",
                "n_error",
                "n_false",
                "n_due",
                "n_now",
                "n_now",
            )
        )
        written += insert_from_select(
            Notification,
            [
                "event_type",
                "event_key",
                "customer",
                "channel",
                "language",
                "recipient",
                "incident",
                "incident_update",
                "critical",
                "subject",
                "body",
                "status",
                "provider_message_id",
                "provider_status",
                "attempts",
                "last_error",
                "uncertain",
                "next_attempt_at",
                "created_at",
                "updated_at",
            ],
            rows,
            conflict_fields=["event_key", "customer", "channel"],
        )
    logger.info(
        "notifications fanned out", extra={"event_key": event_key, "rows": written, "channels": ",".join(channels)}
    )
    return written


def notifications_for_customer(
    *, customer: Customer, event_type: str, event_key: str, context: dict[str, str], channels: list[str] | None = None
) -> int:
    """Messages to one customer (a complaint confirmation or reply), rendered now and
    queued after commit. Consent and missing addresses give suppressed rows."""
    written = notifications_for_customers(
        event_type=event_type, messages=[(customer, event_key, context)], channels=channels
    )
    notifications_queue_after_commit(event_key=event_key)
    return written


def notifications_for_customers(
    *, event_type: str, messages: list[tuple[Customer, str, dict[str, str]]], channels: list[str] | None = None
) -> int:
    """Rendered rows for many customers, each with its own event key and values
    (e.g. one coupon each), in one insert; conflicts (already written) are skipped.
    The caller queues them (or leaves them to the sweeper)."""
    from notifications.messages import template_for
    from notifications.rendering import render

    now = timezone.now()
    templates: dict[tuple[str, str], tuple[str, str]] = {}
    rows = []
    for customer, event_key, context in messages:
        for channel in channels or [Channel.SMS, Channel.EMAIL]:
            address = customer.phone if channel == Channel.SMS else customer.email
            consent = customer.sms_consent if channel == Channel.SMS else customer.email_consent
            if (channel, customer.language) not in templates:
                templates[(channel, customer.language)] = template_for(event_type, channel, customer.language)
            subject, body = templates[(channel, customer.language)]
            filled = {"customer_name": customer.name, **context}
            rows.append(
                Notification(
                    event_type=event_type,
                    event_key=event_key,
                    customer=customer,
                    channel=channel,
                    language=customer.language,
                    recipient=address,
                    subject=render(subject, filled),
                    body=render(body, filled),
                    status=Status.PENDING if consent and address else Status.SUPPRESSED,
                    last_error="" if consent and address else "customer refused this channel or has no address",
                    next_attempt_at=now if channel == Channel.EMAIL else quiet_hours_release(now),
                    created_at=now,
                )
            )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def incident_update_fan_out_or_defer(*, update: Any) -> None:
    """Write the update's messages now, or leave them to a worker for a large incident."""
    from incidents.models import AffectedOrder

    if AffectedOrder.objects.filter(incident_id=update.incident_id).count() > settings.NOTIFICATION_SYNC_FAN_OUT_LIMIT:
        logger.info("large fan-out left to a worker", extra={"update": update.pk})
        return
    incident_update_fan_out(update=update)


def incident_update_fan_out(*, update: Any) -> int:
    """Every customer with a parcel affected by the update's incident, once each.

    Idempotent (the unique constraint); stamps the update as fanned out.
    """
    from incidents.models import AffectedOrder, IncidentStatus, Severity, UpdateKind

    channels = [
        channel
        for channel, wanted in ((Channel.SMS, update.notify_sms), (Channel.EMAIL, update.notify_email))
        if wanted
    ]
    if not channels:
        return 0
    if update.kind == UpdateKind.DECLARED:
        event_type = EventType.INCIDENT_DECLARED
    elif update.kind == UpdateKind.ESTIMATE:
        event_type = EventType.INCIDENT_ESTIMATE
    elif update.status == IncidentStatus.RESOLVED and update.from_status != IncidentStatus.RESOLVED:
        event_type = EventType.INCIDENT_RESOLVED
    else:
        event_type = EventType.INCIDENT_UPDATE
    affected = AffectedOrder.objects.filter(incident_id=update.incident_id).values("order__customer_id")
    written = notifications_fan_out(
        customers=Customer.objects.filter(id__in=affected),
        event_type=event_type,
        event_key=f"incident-update:{update.pk}",
        channels=channels,
        critical=update.incident.severity == Severity.CRITICAL,
        incident_id=update.incident_id,
        incident_update_id=update.pk,
    )
    type(update).objects.filter(pk=update.pk).update(fanned_out_at=timezone.now())
    return written


def incident_update_fan_out_deferred(*, update_id: int) -> int:
    """Worker side of a large fan-out: write the rows if not yet written, then queue them."""
    from incidents.models import IncidentUpdate

    update = IncidentUpdate.objects.select_related("incident").get(pk=update_id)
    written = 0
    if update.fanned_out_at is None:
        with transaction.atomic():
            written = incident_update_fan_out(update=update)
    notifications_dispatch_event(event_key=f"incident-update:{update_id}")
    return written


# --- dispatch -----------------------------------------------------------------------------


def _publish(ids: list[int], *, countdown: float | None = None) -> bool:
    """Queue one send task for these ids; ``False`` when the broker is unreachable."""
    from notifications.tasks import send_notifications

    try:
        send_notifications.apply_async(args=[ids], countdown=countdown, retry=False)
    except Exception as error:  # noqa: BLE001 - broker down: the rows stay pending and the sweeper retries
        logger.warning(
            "could not queue notifications; the sweeper will", extra={"count": len(ids), "error": type(error).__name__}
        )
        return False
    return True


def notifications_dispatch(*, pending: QuerySet[Notification], limit: int | None = None) -> int:
    """Queue the due pending rows of ``pending`` in chunks; returns how many were queued."""
    now = timezone.now()
    ids = list(
        pending.filter(status=Status.PENDING, next_attempt_at__lte=now)
        # Queued longer ago than a lease and still pending: its task was lost
        # (a worker killed with messages prefetched, a broker restart).
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - settings.NOTIFICATION_LEASE))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    queued = 0
    for start in range(0, len(ids), DISPATCH_CHUNK):
        chunk = ids[start : start + DISPATCH_CHUNK]
        if not _publish(chunk):
            break
        Notification.objects.filter(id__in=chunk).update(queued_at=now)
        queued += len(chunk)
    return queued


def notifications_queue_after_commit(*, event_key: str) -> None:
    """Once the caller's transaction commits, queue the event's messages (off the request).

    A dead broker is logged, not raised: the rows are pending and the sweeper
    queues them once it is back.
    """

    def queue() -> None:
        from notifications.tasks import dispatch_event

        try:
            dispatch_event.apply_async(args=[event_key], retry=False)
        except Exception as error:  # noqa: BLE001 - never fail the request over the broker
            logger.warning(
                "broker unreachable; the sweeper will queue this event",
                extra={"event_key": event_key, "error": type(error).__name__},
            )

    transaction.on_commit(queue)


def incident_affected_customers_notify(*, incident: Any) -> int:
    """Tell every affected customer not yet told that their parcel is caught up in the incident.

    Keyed per incident, so linking in several batches still tells each customer once.
    """
    from incidents.models import AffectedOrder, Severity

    event_key = f"incident-affected:{incident.pk}"
    written = notifications_fan_out(
        customers=Customer.objects.filter(
            id__in=AffectedOrder.objects.filter(incident=incident).values("order__customer_id")
        ),
        event_type=EventType.INCIDENT_DECLARED,
        event_key=event_key,
        channels=[Channel.SMS, Channel.EMAIL],
        critical=incident.severity == Severity.CRITICAL,
        incident_id=incident.pk,
    )
    if written:
        notifications_queue_after_commit(event_key=event_key)
    return written


def notifications_dispatch_event(*, event_key: str) -> int:
    return notifications_dispatch(pending=Notification.objects.filter(event_key=event_key))


def notifications_sweep() -> dict[str, int]:
    """Beat, every minute: nothing pending is forgotten, nothing claimed is stranded.

    A row left in ``sending`` past its lease (its worker died) goes back to
    pending, marked ``uncertain``: the provider may have it already.
    """
    now = timezone.now()
    stranded = Notification.objects.filter(
        status=Status.SENDING, claimed_at__lt=now - settings.NOTIFICATION_LEASE
    ).update(
        status=Status.PENDING, uncertain=True, queued_at=None, last_error="lease expired: the sender stopped mid-send"
    )
    fan_outs = _deferred_fan_outs_requeue(now)
    queued = notifications_dispatch(pending=Notification.objects.all(), limit=SWEEP_BATCH)
    if stranded or queued or fan_outs:
        logger.info("notification sweep", extra={"stranded": stranded, "queued": queued, "fan_outs": fan_outs})
    return {"stranded": stranded, "queued": queued, "fan_outs": fan_outs}


def _deferred_fan_outs_requeue(now: datetime) -> int:
    """Updates whose messages should exist but do not (their task was lost) get a task again."""
    from incidents.models import IncidentUpdate
    from notifications.tasks import fan_out_update

    waiting = (
        IncidentUpdate.objects.filter(fanned_out_at__isnull=True, created_at__lt=now - settings.NOTIFICATION_LEASE)
        .filter(Q(notify_sms=True) | Q(notify_email=True))
        .values_list("id", flat=True)[:100]
    )
    count = 0
    for update_id in waiting:
        try:
            fan_out_update.apply_async(args=[update_id], retry=False)
        except Exception:  # noqa: BLE001 - broker still down; next sweep
            break
        count += 1
    return count


def notifications_retry_failed(*, notifications: QuerySet[Notification]) -> int:
    """Staff action: failed and undelivered rows become pending again (attempts reset)."""
    now = timezone.now()
    count = notifications.filter(status__in=[Status.FAILED, Status.UNDELIVERED]).update(
        status=Status.PENDING, attempts=0, next_attempt_at=now, queued_at=None, last_error=""
    )
    transaction.on_commit(lambda: notifications_dispatch(pending=Notification.objects.filter(status=Status.PENDING)))
    return count


# --- sending ------------------------------------------------------------------------------


def backoff_seconds(attempts: int) -> float:
    """Exponential with full jitter: spreads retries so a recovering provider is not stampeded."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


def notifications_claim(*, ids: list[int]) -> list[Notification]:
    """Claim the due pending rows among ``ids`` for this worker, in one short transaction.

    ``SKIP LOCKED`` and the status condition mean each row is claimed by one
    caller only; the others get nothing for it.
    """
    now = timezone.now()
    with transaction.atomic():
        claimable = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, status=Status.PENDING, next_attempt_at__lte=now)
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=claimable).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(
        Notification.objects.filter(pk__in=claimable)
        .select_related("customer", "subscription", "incident", "incident_update")
        .order_by("pk")
    )


def notifications_send(*, ids: list[int]) -> dict[int, str]:
    """Send the given messages that are still pending and due; returns each one's outcome.

    Safe to call any number of times, from any number of workers: only the
    caller that claimed a row calls the provider for it, and its "sent" mark is
    committed right after the provider answered.
    """
    outcomes = dict.fromkeys(ids, "skipped")
    for start in range(0, len(ids), CLAIM_BATCH):
        _send_batch(ids[start : start + CLAIM_BATCH], outcomes)
    return outcomes


def _send_batch(ids: list[int], outcomes: dict[int, str]) -> None:
    from notifications.messages import render_many
    from notifications.transports import TransportError

    claimed = notifications_claim(ids=ids)
    unrendered = [notification for notification in claimed if not notification.body]
    if unrendered:
        render_many(unrendered)
        Notification.objects.bulk_update(unrendered, ["subject", "body"])
    for notification in claimed:
        try:
            sent = _deliver(notification)
        except TransportError as error:
            outcomes[notification.pk] = _record_failure(notification, error)
            continue
        Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(
            status=Status.SENT,
            provider_message_id=sent.provider_message_id[:64],
            provider_status=sent.provider_status[:20],
            sent_at=timezone.now(),
            last_error="",
        )
        outcomes[notification.pk] = "sent"


def notification_send(*, notification_id: int) -> str:
    """Send one message if it is still pending and due. Returns what happened."""
    return notifications_send(ids=[notification_id])[notification_id]


def _deliver(notification: Notification) -> Any:
    from notifications.messages import build_email
    from notifications.ratelimit import sms_bucket
    from notifications.transports import send_email, send_sms

    if notification.channel == Channel.SMS:
        sms_bucket().acquire()
        return send_sms(to=notification.recipient, body=notification.body, notification_id=notification.pk)
    return send_email(message=build_email(notification))


def _record_failure(notification: Notification, error: Any) -> str:
    from customers.services import customer_consent_set

    if error.opt_out and notification.customer is not None:
        customer = notification.customer
        customer_consent_set(customer=customer, sms=False, email=customer.email_consent)
    elif error.opt_out and notification.subscription_id:
        from notifications.subscriptions import subscriptions_stop_phone

        subscriptions_stop_phone(phone=notification.recipient)
    gives_up = error.permanent or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    changes: dict[str, Any] = {"last_error": str(error)[:300], "claimed_at": None}
    if error.uncertain:
        changes["uncertain"] = True
        logger.warning(
            "notification uncertain: the provider may have it",
            extra={"notification": notification.pk, "error": str(error)},
        )
    if gives_up:
        changes["status"] = Status.FAILED
        Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(**changes)
        logger.warning(
            "notification failed",
            extra={"notification": notification.pk, "error": str(error), "permanent": error.permanent},
        )
        return "failed"
    delay = backoff_seconds(notification.attempts)
    changes.update(
        status=Status.PENDING, next_attempt_at=timezone.now() + timedelta(seconds=delay), queued_at=timezone.now()
    )
    Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(**changes)
    transaction.on_commit(lambda: _publish([notification.pk], countdown=delay))
    logger.info(
        "notification will be retried",
        extra={"notification": notification.pk, "in_seconds": round(delay, 1), "error": str(error)},
    )
    return "retry"


# --- receipts and consent ----------------------------------------------------------------

# A provider's statuses in the order they happen; a callback never moves a message back.
_PROVIDER_STATUS = {
    "accepted": (1, Status.SENT),
    "queued": (1, Status.SENT),
    "sending": (2, Status.SENT),
    "sent": (3, Status.SENT),
    "delivered": (4, Status.DELIVERED),
    "undelivered": (4, Status.UNDELIVERED),
    "failed": (4, Status.FAILED),
}
_RANK_OF_OURS = {
    Status.PENDING: 0,
    Status.SENDING: 0,
    Status.SENT: 3,
    Status.DELIVERED: 4,
    Status.UNDELIVERED: 4,
    Status.FAILED: 4,
    Status.SUPPRESSED: 4,
}


def notification_receipt_apply(*, provider_message_id: str, provider_status: str, error_code: str = "") -> bool:
    """Apply a delivery receipt. Idempotent and order-proof: a late "sent" after
    "delivered" changes nothing. Returns whether the row changed."""
    if provider_status not in _PROVIDER_STATUS:
        return False
    rank, ours = _PROVIDER_STATUS[provider_status]
    below = [
        status for status, our_rank in _RANK_OF_OURS.items() if our_rank < rank and status not in (Status.PENDING,)
    ]
    changes: dict[str, Any] = {"status": ours, "provider_status": provider_status}
    if ours == Status.DELIVERED:
        changes["delivered_at"] = timezone.now()
    if error_code:
        changes["last_error"] = f"provider error {error_code}"[:300]
    updated = Notification.objects.filter(provider_message_id=provider_message_id, status__in=below).update(**changes)
    if not updated and not Notification.objects.filter(provider_message_id=provider_message_id).exists():
        logger.warning(
            "receipt for an unknown message", extra={"sid": provider_message_id, "provider_status": provider_status}
        )
    return bool(updated)


STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "退订"}
START_WORDS = {"START", "UNSTOP", "YES", "订阅"}


def inbound_sms_apply(*, from_number: str, body: str) -> str | None:
    """STOP and friends opt the sender out of SMS, START opts back in. Returns the change."""
    from customers.services import customer_consent_set

    word = body.strip().upper()
    if word in STOP_WORDS:
        wanted = False
    elif word in START_WORDS:
        wanted = True
    else:
        return None
    for customer in Customer.objects.filter(phone=from_number):
        customer_consent_set(customer=customer, sms=wanted, email=customer.email_consent)
    if not wanted:
        from notifications.subscriptions import subscriptions_stop_phone

        subscriptions_stop_phone(phone=from_number)
        # What is still waiting for this number would now go against their wish.
        Notification.objects.filter(customer__phone=from_number, channel=Channel.SMS, status=Status.PENDING).update(
            status=Status.SUPPRESSED, last_error="recipient opted out"
        )
    return "opted_out" if not wanted else "opted_in"
