"""The outbox, as the rest of the product sees it: write messages, queue them after commit.

Every message is a ``Notification`` row written in the producer's transaction, so
it exists exactly when the change it announces does; queueing happens after
commit (``queue_on_commit``), and whatever is not queued (a dead broker, a lost
task) is queued by the sweeper. Producers call only this module: incidents,
complaints, compensation, components, the portal's subscriptions and staff alerts.

- ``notifications_fan_out``: one bare row per customer of a queryset (set-based, 10⁵ rows in one
  ``INSERT … SELECT`` per channel), rendered when sent with the values the
  event's app provides (``contexts.py``).
- ``customers_message``: rendered rows, each customer with its own values and key.
- ``subscribers_notice``: one rendered notice per active status subscriber.
- ``staff_alert``: an email to members of staff, retried like any other message.
- ``EventKey``: the one place an event key is spelled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import BooleanField, Case, CharField, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.utils import timezone, translation

from core.bulk import insert_from_select
from core.queue import enqueue_on_commit
from customers.models import Customer
from notifications.messages import SUBJECT_MAX_LENGTH, message_render
from notifications.models import (
    Channel,
    ChatDestination,
    EventType,
    Notification,
    Status,
    StatusSubscription,
    WebhookEndpoint,
)
from notifications.rendering import one_line

logger = logging.getLogger(__name__)

DISPATCH_TASK = "notifications.tasks.dispatch_event"
# Rows per insert when rendered rows are written in Python (subscribers, coupons).
WRITE_BATCH = 2000


class EventKey:
    """Event keys: what makes a message once per recipient. Spelled here only."""

    @staticmethod
    def incident_affected(incident_id: int) -> str:
        return f"incident-affected:{incident_id}"

    @staticmethod
    def incident_update(update_id: int) -> str:
        return f"incident-update:{update_id}"

    @staticmethod
    def status_notice(update_id: int) -> str:
        return f"status-notice:{update_id}"

    @staticmethod
    def maintenance_notice(maintenance_id: int, state: str) -> str:
        return f"maintenance-notice:{maintenance_id}:{state}"

    @staticmethod
    def status_confirm(subscription_id: int, attempt: int) -> str:
        return f"status-confirm:{subscription_id}:{attempt}"

    @staticmethod
    def complaint_received(complaint_id: int) -> str:
        return f"complaint-received:{complaint_id}"

    @staticmethod
    def complaint_reply(message_id: int) -> str:
        return f"complaint-reply:{message_id}"

    @staticmethod
    def coupon_issued(coupon_id: int) -> str:
        return f"coupon:{coupon_id}"

    @staticmethod
    def staff(kind: str, reference: str) -> str:
        return f"staff:{kind}:{reference}"[:64]

    @staticmethod
    def webhook(event: str, reference: str) -> str:
        return f"wh:{event}:{reference}"[:64]


def queue_on_commit(
    *, event_key: str | None = None, event_type: str | None = None, since: datetime | None = None
) -> None:
    """Once the caller's transaction commits, queue the messages of one event (or of
    one type written since a moment, for a batch of per-recipient events) for sending."""
    enqueue_on_commit(DISPATCH_TASK, event_key, event_type, since.isoformat() if since else None)


# --- writing ------------------------------------------------------------------------------


def notifications_fan_out(
    *,
    customers: QuerySet[Customer],
    event_type: str,
    event_key: str,
    channels: Sequence[str],
    critical: bool = False,
    incident_id: int | None = None,
    incident_update_id: int | None = None,
) -> int:
    """One bare row per customer and channel for this event, in the caller's transaction.

    Set-based: one ``INSERT … SELECT`` per channel whatever the number of
    customers. Consent, address and quiet hours are decided when each message is
    sent, not here. Running it twice for the same event adds nothing. Returns the
    rows written.
    """
    now = timezone.now()
    written = 0
    for channel in channels:
        refused = Q(sms_consent=False) | Q(phone="") if channel == Channel.SMS else Q(email_consent=False) | Q(email="")
        rows = (
            customers.order_by()
            .annotate(
                n_event_type=Value(event_type, output_field=CharField()),
                n_event_key=Value(event_key, output_field=CharField()),
                n_channel=Value(channel, output_field=CharField()),
                n_recipient=F("phone") if channel == Channel.SMS else F("email"),
                n_incident=Cast(Value(incident_id), output_field=IntegerField()),
                n_update=Cast(Value(incident_update_id), output_field=IntegerField()),
                n_critical=Value(critical, output_field=BooleanField()),
                # Refused now is written suppressed at once; consent given later does not revive it.
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
                "n_now",
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


@dataclass(frozen=True)
class CustomerMessage:
    customer: Customer
    event_key: str
    context: dict[str, str]


def customers_message(
    *, event_type: str, messages: Iterable[CustomerMessage], channels: Sequence[str] = (Channel.SMS, Channel.EMAIL)
) -> int:
    """Rendered rows for many customers, each with its own event key and values
    (one coupon each, a complaint reply), written in batches that skip what exists.
    The caller queues them (``queue_on_commit``) or leaves them to the sweeper."""
    now = timezone.now()
    rows = []
    for message in messages:
        customer = message.customer
        context = {"customer_name": customer.name, **message.context}
        for channel in channels:
            address = customer.phone if channel == Channel.SMS else customer.email
            consent = customer.sms_consent if channel == Channel.SMS else customer.email_consent
            subject, body = message_render(
                event_type=event_type, channel=channel, language=customer.language, context=context
            )
            rows.append(
                Notification(
                    event_type=event_type,
                    event_key=message.event_key,
                    customer=customer,
                    channel=channel,
                    language=customer.language,
                    recipient=address,
                    subject=subject,
                    body=body,
                    status=Status.PENDING if consent and address else Status.SUPPRESSED,
                    last_error="" if consent and address else "customer refused this channel or has no address",
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    for start in range(0, len(rows), WRITE_BATCH):
        Notification.objects.bulk_create(rows[start : start + WRITE_BATCH], ignore_conflicts=True)
    return len(rows)


def customer_message(*, customer: Customer, event_type: str, event_key: str, context: dict[str, str]) -> int:
    """Messages to one customer (a complaint confirmation or reply), rendered now and
    queued after commit."""
    written = customers_message(
        event_type=event_type, messages=[CustomerMessage(customer=customer, event_key=event_key, context=context)]
    )
    queue_on_commit(event_key=event_key)
    return written


def subscription_message(
    *, subscription: StatusSubscription, event_type: str, event_key: str, context: dict[str, str]
) -> None:
    """One rendered message to one subscriber (the sign-up confirmation), sent now whatever the hour."""
    subject, body = message_render(
        event_type=event_type, channel=subscription.channel, language=subscription.language, context=context
    )
    now = timezone.now()
    Notification.objects.create(
        event_type=event_type,
        event_key=event_key,
        subscription=subscription,
        channel=subscription.channel,
        language=subscription.language,
        recipient=subscription.address,
        critical=True,  # a code is wanted now, quiet hours or not
        subject=subject,
        body=body,
        next_attempt_at=now,
        created_at=now,
    )
    queue_on_commit(event_key=event_key)


def subscribers_notice(
    *,
    event_key: str,
    component_ids: Sequence[int],
    context: Callable[[str], dict[str, str]],
    critical: bool,
    incident_id: int | None = None,
    incident_update_id: int | None = None,
) -> int:
    """One rendered notice per active subscriber of ``component_ids`` (or of all components), then queue them.

    ``context(language)`` gives the values, called with that language active.
    One rendering per channel and language; rows go in batches that skip
    conflicts, so a re-run adds nothing. Returns how many rows are new.
    """
    subscribers = StatusSubscription.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True).filter(
        Q(components__isnull=True) | Q(components__in=component_ids)
    )
    rendered: dict[tuple[str, str], tuple[str, str]] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            values = context(language)
        for channel in (Channel.SMS, Channel.EMAIL):
            rendered[(channel, language)] = message_render(
                event_type=EventType.STATUS_NOTICE, channel=channel, language=language, context=values
            )
    now = timezone.now()
    before = Notification.objects.filter(event_key=event_key).count()
    batch: list[Notification] = []
    for subscription in subscribers.distinct().order_by("pk").iterator(chunk_size=WRITE_BATCH):
        subject, body = rendered[(subscription.channel, subscription.language)]
        batch.append(
            Notification(
                event_type=EventType.STATUS_NOTICE,
                event_key=event_key,
                subscription=subscription,
                channel=subscription.channel,
                language=subscription.language,
                recipient=subscription.address,
                incident_id=incident_id,
                incident_update_id=incident_update_id,
                critical=critical,
                subject=subject,
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
        )
        if len(batch) >= WRITE_BATCH:
            Notification.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Notification.objects.bulk_create(batch, ignore_conflicts=True)
    written = Notification.objects.filter(event_key=event_key).count() - before
    if written:
        queue_on_commit(event_key=event_key)
    logger.info("status notices written", extra={"event_key": event_key, "rows": written})
    return written


def staff_alert(
    *,
    users: Iterable[User],
    event_key: str,
    subject: str,
    body: str,
    roles: Iterable[str] = (),
    category_id: int | None = None,
) -> int:
    """An email to each of ``users`` (a target missed, complaints due), and a message to
    every chat that takes alerts for one of ``roles`` or for the incident category,
    through the outbox: retried until delivered or failed, visible in the admin, once
    per recipient and key."""
    now = timezone.now()
    subject = one_line(subject, max_length=SUBJECT_MAX_LENGTH)
    wanted = Q(roles__name__in=list(roles))
    if category_id is not None:
        wanted |= Q(categories__id=category_id)
    chats = ChatDestination.objects.filter(is_enabled=True).filter(wanted).distinct()
    chat_rows = [
        Notification(
            event_type=EventType.STAFF_ALERT,
            event_key=event_key,
            chat_destination=chat,
            channel=Channel.CHAT,
            language=settings.LANGUAGE_CODE,
            recipient=chat.name[:254],
            critical=True,
            subject=subject,
            body=body,
            next_attempt_at=now,
            created_at=now,
        )
        for chat in chats
    ]
    rows = [
        Notification(
            event_type=EventType.STAFF_ALERT,
            event_key=event_key,
            staff_user=user,
            channel=Channel.EMAIL,
            language=settings.LANGUAGE_CODE,
            recipient=user.email,
            critical=True,
            subject=subject,
            body=body,
            status=Status.PENDING if user.email else Status.SUPPRESSED,
            last_error="" if user.email else "staff member has no email address",
            next_attempt_at=now,
            created_at=now,
        )
        for user in users
    ]
    rows += chat_rows
    if not rows:
        logger.warning("staff alert has nobody to tell", extra={"event_key": event_key})
        return 0
    with transaction.atomic():
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    queue_on_commit(event_key=event_key)
    return len(rows)


def webhook_endpoints(*, event: str, merchants: bool = False) -> dict[int | None, list[WebhookEndpoint]]:
    """The enabled endpoints that take ``event``: our own systems' (under ``None``), or
    (``merchants``) those of merchants, by merchant id."""
    endpoints = WebhookEndpoint.objects.filter(is_enabled=True, merchant_id__isnull=not merchants)
    taking: dict[int | None, list[WebhookEndpoint]] = {}
    for endpoint in endpoints.order_by("pk"):
        if event in endpoint.events:  # a short JSON list; read here the same way on every database
            taking.setdefault(endpoint.merchant_id, []).append(endpoint)
    return taking


def webhook_publish(
    *, event: str, reference: str, data: dict[str, object], endpoints: Sequence[WebhookEndpoint] | None = None
) -> int:
    """One signed delivery of ``event`` to each endpoint that takes it (our own systems'
    unless ``endpoints`` are given, e.g. a merchant's), in the caller's transaction; the
    body is Standard Webhooks' ``{"type", "timestamp", "data"}``. Once per endpoint and
    ``reference``. The caller queues them (``queue_on_commit(event_type=EventType.WEBHOOK, …)``)."""
    if endpoints is None:
        endpoints = webhook_endpoints(event=event).get(None, [])
    if not endpoints:
        return 0
    now = timezone.now()
    body = json.dumps(
        {"type": event, "timestamp": now.isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    event_key = EventKey.webhook(event, reference)
    Notification.objects.bulk_create(
        [
            Notification(
                event_type=EventType.WEBHOOK,
                event_key=event_key,
                webhook_endpoint=endpoint,
                channel=Channel.WEBHOOK,
                language=settings.LANGUAGE_CODE,
                recipient=endpoint.url[:254],
                critical=True,
                subject=event,
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint in endpoints
        ],
        ignore_conflicts=True,
    )
    return len(endpoints)


def webhook_publish_now(*, event: str, reference: str, data: dict[str, object]) -> int:
    """``webhook_publish`` to our own systems, queued once the caller's transaction commits."""
    written = webhook_publish(event=event, reference=reference, data=data)
    if written:
        queue_on_commit(event_key=EventKey.webhook(event, reference))
    return written
