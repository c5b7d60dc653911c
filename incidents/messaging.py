"""What an incident tells whom, through the outbox.

The incident's policy lives here, not in the outbox: which timeline row is
which kind of message, which severity skips quiet hours, when a large incident's
messages are left to a worker, and the values its messages are rendered with.

- A public timeline row with customer notification writes one bare outbox row per
  affected customer and channel in its own transaction (up to
  ``NOTIFICATION_SYNC_FAN_OUT_LIMIT`` parcels; above, a worker writes them).
- After commit a worker announces the row: writes what is not written yet,
  queues it, and writes the status-page subscribers' notices. The committed row
  is the promise: ``incident_announcements_sweep`` re-queues any announcement
  whose task was lost.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.queue import enqueue, enqueue_on_commit
from customers.models import Customer
from incidents.models import (
    AffectedOrder,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MerchantAnnouncement,
    Severity,
    UpdateKind,
    Visibility,
)
from notifications.contexts import context_provider_register
from notifications.models import Channel, EventType, Notification, WebhookEndpoint, WebhookEvent
from notifications.outbox import (
    EventKey,
    notifications_fan_out,
    queue_on_commit,
    subscribers_notice,
    webhook_endpoints,
    webhook_publish,
    webhook_publish_now,
)

logger = logging.getLogger(__name__)

ANNOUNCE_TASK = "incidents.tasks.announce_update"
# Announcements a sweep re-queues per run; the next minute takes the rest.
SWEEP_BATCH = 100


def update_event_type(update: IncidentUpdate) -> str:
    if update.kind == UpdateKind.DECLARED:
        return EventType.INCIDENT_DECLARED
    if update.kind == UpdateKind.ESTIMATE:
        return EventType.INCIDENT_ESTIMATE
    if update.status == IncidentStatus.RESOLVED and update.from_status != IncidentStatus.RESOLVED:
        return EventType.INCIDENT_RESOLVED
    return EventType.INCIDENT_UPDATE


def _critical(incident: Incident) -> bool:
    """A critical incident's messages go out during quiet hours too."""
    return incident.severity == Severity.CRITICAL


def _affected_customers(incident_id: int) -> QuerySet[Customer]:
    return Customer.objects.filter(
        id__in=AffectedOrder.objects.filter(incident_id=incident_id).values("order__customer_id")
    )


def update_announce_on_commit(*, update: IncidentUpdate) -> None:
    """Called by the service that wrote a public row, inside its transaction."""
    if update.notify_sms or update.notify_email:
        affected = AffectedOrder.objects.filter(incident_id=update.incident_id).count()
        if affected <= settings.NOTIFICATION_SYNC_FAN_OUT_LIMIT:
            update_customers_write(update=update)
        else:
            logger.info("large fan-out left to a worker", extra={"update": update.pk, "parcels": affected})
    enqueue_on_commit(ANNOUNCE_TASK, update.pk)


def update_customers_write(*, update: IncidentUpdate) -> int:
    """Every customer with a parcel affected by the update's incident, once each.

    Idempotent (the outbox's unique key); stamps the update as fanned out.
    """
    channels = [
        channel
        for channel, wanted in ((Channel.SMS, update.notify_sms), (Channel.EMAIL, update.notify_email))
        if wanted
    ]
    written = notifications_fan_out(
        customers=_affected_customers(update.incident_id),
        event_type=update_event_type(update),
        event_key=EventKey.incident_update(update.pk),
        channels=channels,
        critical=_critical(update.incident),
        incident_id=update.incident_id,
        incident_update_id=update.pk,
    )
    IncidentUpdate.objects.filter(pk=update.pk).update(fanned_out_at=timezone.now())
    return written


def update_announce(*, update_id: int) -> dict[str, int]:
    """Worker side, after commit: customers' messages written (if a worker had to)
    and queued; status-page subscribers' notices written and queued. Idempotent."""
    update = IncidentUpdate.objects.select_related("incident").filter(pk=update_id).first()
    if update is None or update.visibility != Visibility.PUBLIC:
        return {"customers": 0, "subscribers": 0}
    customers = subscribers = 0
    if update.notify_sms or update.notify_email:
        with transaction.atomic():
            if update.fanned_out_at is None:
                customers = update_customers_write(update=update)
            queue_on_commit(event_key=EventKey.incident_update(update.pk))
    if update.subscribers_notified_at is None:
        with transaction.atomic():
            subscribers = _subscribers_notice(update)
            IncidentUpdate.objects.filter(pk=update.pk).update(subscribers_notified_at=timezone.now())
    return {"customers": customers, "subscribers": subscribers}


def _subscribers_notice(update: IncidentUpdate) -> int:
    incident = update.incident

    def context(language: str) -> dict[str, str]:  # called with ``language`` active
        english = language == "en"
        return {
            "incident_title": incident.localized("title"),
            "update_text": (update.body_en if english and update.body_en else update.body_zh).strip(),
            "status": str(IncidentStatus(update.status).label),
            "link": f"{settings.PUBLIC_BASE_URL}/incidents/{incident.pk}/",
        }

    return subscribers_notice(
        event_key=EventKey.status_notice(update.pk),
        component_ids=list(incident.component_impacts.values_list("component_id", flat=True)),
        context=context,
        critical=_critical(incident),
        incident_id=incident.pk,
        incident_update_id=update.pk,
    )


def incident_announcements_sweep(*, now: datetime | None = None) -> int:
    """Beat, every minute: public rows whose announcement did not happen (its task
    was lost, the broker was down) are queued again. Returns how many."""
    now = now or timezone.now()
    waiting = (
        IncidentUpdate.objects.filter(visibility=Visibility.PUBLIC, created_at__lt=now - settings.NOTIFICATION_LEASE)
        .filter(
            Q(subscribers_notified_at__isnull=True)
            | (Q(fanned_out_at__isnull=True) & (Q(notify_sms=True) | Q(notify_email=True)))
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    queued = 0
    for update_id in waiting:
        if not enqueue(ANNOUNCE_TASK, update_id):
            break  # broker still down; the next sweep
        queued += 1
    if queued:
        logger.info("incident announcements queued again", extra={"count": queued})
    return queued


def incident_affected_customers_notify(*, incident: Incident) -> int:
    """Tell every affected customer not yet told that their parcel is caught up in the incident.

    Keyed per incident, so linking in several batches still tells each customer once.
    """
    event_key = EventKey.incident_affected(incident.pk)
    written = notifications_fan_out(
        customers=_affected_customers(incident.pk),
        event_type=EventType.INCIDENT_DECLARED,
        event_key=event_key,
        channels=[Channel.SMS, Channel.EMAIL],
        critical=_critical(incident),
        incident_id=incident.pk,
    )
    if written:
        queue_on_commit(event_key=event_key)
    return written


# --- what the messages say ------------------------------------------------------------------


def _when(value: datetime | None, language: str) -> str:
    if value is None:
        return "待定" if language == "zh-hans" else "to be confirmed"
    local = timezone.localtime(value)
    return f"{local.month}月{local.day}日 {local:%H:%M}" if language == "zh-hans" else f"{local:%d %b %H:%M}"


def message_contexts(notifications: Sequence[Notification]) -> Mapping[int, Mapping[str, str]]:
    """The placeholders' values of a batch of incident messages: a few queries for the batch.

    Each customer's parcels in the incident (the first tracking number, how many
    more, the latest new estimate), the incident's title and expected recovery,
    the update's text.
    """
    incident_ids = {notification.incident_id for notification in notifications if notification.incident_id}
    update_ids = {notification.incident_update_id for notification in notifications if notification.incident_update_id}
    incidents = Incident.objects.in_bulk(incident_ids)
    updates = IncidentUpdate.objects.in_bulk(update_ids)
    parcels: dict[tuple[int, int | None], list[tuple[str, datetime | None]]] = defaultdict(list)
    by_incident: dict[int, list[int]] = defaultdict(list)
    for notification in notifications:
        if notification.incident_id and notification.customer_id:
            by_incident[notification.incident_id].append(notification.customer_id)
    for incident_id, customer_ids in by_incident.items():
        rows = (
            AffectedOrder.objects.filter(incident_id=incident_id, order__customer_id__in=customer_ids)
            .order_by("order__tracking_number")
            .values_list("order__customer_id", "order__tracking_number", "new_estimate")
        )
        for customer_id, tracking_number, new_estimate in rows:
            parcels[(incident_id, customer_id)].append((tracking_number, new_estimate))
    contexts: dict[int, dict[str, str]] = {}
    for notification in notifications:
        language = notification.language
        context = {"link": f"{settings.PUBLIC_BASE_URL}/", "parcel_count": "0"}
        incident = incidents.get(notification.incident_id) if notification.incident_id else None
        if incident is not None:
            mine = parcels.get((incident.pk, notification.customer_id), [])
            english = language == "en" and incident.title_en
            count = len(mine)
            more = (f"等{count}件" if language == "zh-hans" else f" and {count - 1} more") if count > 1 else ""
            estimates = [estimate for _number, estimate in mine if estimate is not None]
            context.update(
                link=f"{settings.PUBLIC_BASE_URL}/incidents/{incident.pk}/",
                incident_title=incident.title_en if english else incident.title_zh,
                estimated_recovery=_when(incident.estimated_recovery_at, language),
                parcel_count=str(count),
                tracking_number=(mine[0][0] + more) if mine else "",
                new_estimate=_when(max(estimates) if estimates else None, language),
            )
        update = updates.get(notification.incident_update_id) if notification.incident_update_id else None
        if update is not None:
            context["update_text"] = (update.body_en if language == "en" and update.body_en else update.body_zh).strip()
        contexts[notification.pk] = context
    return contexts


def message_contexts_register() -> None:
    """Called once from ``IncidentsConfig.ready``."""
    context_provider_register(
        event_types=[
            EventType.INCIDENT_DECLARED,
            EventType.INCIDENT_UPDATE,
            EventType.INCIDENT_ESTIMATE,
            EventType.INCIDENT_RESOLVED,
        ],
        provider=message_contexts,
    )


# --- webhooks: our own systems hear of every timeline row, merchants of their orders --------


def _incident_data(incident: Incident) -> dict[str, object]:
    return {
        "id": incident.pk,
        "reference": incident.reference,
        "title_zh": incident.title_zh,
        "title_en": incident.title_en,
        "category": incident.category.code,
        "severity": incident.severity,
        "status": incident.status,
        "published": incident.is_published,
        "reported_at": incident.reported_at,
        "estimated_recovery_at": incident.estimated_recovery_at,
        "resolved_at": incident.resolved_at,
        "link": f"{settings.PUBLIC_BASE_URL}/incidents/{incident.pk}/" if incident.is_published else None,
    }


def incident_webhook_publish(*, update: IncidentUpdate) -> int:
    """``incident.created`` for the declaration, ``incident.resolved`` for the resolution,
    ``incident.updated`` for every other timeline row (internal ones too: the endpoints
    are our own systems), queued after the row commits."""
    if update.kind == UpdateKind.DECLARED:
        event = WebhookEvent.INCIDENT_CREATED
    elif update.status == IncidentStatus.RESOLVED and update.from_status != IncidentStatus.RESOLVED:
        event = WebhookEvent.INCIDENT_RESOLVED
    else:
        event = WebhookEvent.INCIDENT_UPDATED
    return webhook_publish_now(
        event=event,
        reference=str(update.pk),
        data={
            "incident": _incident_data(update.incident),
            "update": {
                "id": update.pk,
                "kind": update.kind,
                "visibility": update.visibility,
                "status": update.status,
                "from_status": update.from_status,
                "body_zh": update.body_zh,
                "body_en": update.body_en,
                "created_at": update.created_at,
            },
        },
    )


MERCHANTS_AFFECTED_TASK = "incidents.tasks.announce_to_merchants"
MERCHANTS_ESTIMATES_TASK = "incidents.tasks.announce_estimates_to_merchants"


def merchants_announce_on_commit(*, incident: Incident) -> None:
    """After parcels are linked to a public incident (or it is published): its merchants' systems hear, by a worker."""
    if incident.is_published and WebhookEndpoint.objects.filter(is_enabled=True, merchant__isnull=False).exists():
        enqueue_on_commit(MERCHANTS_AFFECTED_TASK, incident.pk)


def _order_rows(affected: list[dict[str, object]]) -> list[dict[str, object]]:
    return [
        {
            "tracking_number": row["order__tracking_number"],
            "reason": row["reason"],
            "promised_delivery": row["original_promise"],
            "new_estimate": row["new_estimate"],
        }
        for row in affected
    ]


_AFFECTED_FIELDS = ("pk", "order__tracking_number", "reason", "original_promise", "new_estimate")


def merchants_affected_announce(*, incident_id: int) -> int:
    """``order.affected`` to each merchant's endpoints: their own parcels only, up to
    ``WEBHOOK_BATCH_ORDERS`` a delivery. Resumes after the last parcel announced, so a
    rerun (or a second link) sends only what is new. Returns the deliveries written."""
    incident = Incident.objects.select_related("category").get(pk=incident_id)
    if not incident.is_published:
        return 0
    since = timezone.now()
    written = 0
    data = _incident_data(incident)
    for merchant_id, endpoints in webhook_endpoints(event=WebhookEvent.ORDER_AFFECTED, merchants=True).items():
        if merchant_id is None:  # only our own systems' endpoints are under None; merchants=True has none
            continue
        while True:
            with transaction.atomic():
                cursor, _created = MerchantAnnouncement.objects.select_for_update().get_or_create(
                    incident=incident, merchant_id=merchant_id
                )
                batch = list(
                    AffectedOrder.objects.filter(
                        incident=incident, order__merchant_id=merchant_id, pk__gt=cursor.last_affected_id
                    )
                    .order_by("pk")
                    .values(*_AFFECTED_FIELDS)[: settings.WEBHOOK_BATCH_ORDERS]
                )
                if not batch:
                    break
                written += webhook_publish(
                    event=WebhookEvent.ORDER_AFFECTED,
                    reference=f"{incident.pk}:{batch[0]['pk']}",
                    data={"incident": data, "orders": _order_rows(batch)},
                    endpoints=endpoints,
                )
                cursor.last_affected_id = batch[-1]["pk"]
                cursor.save(update_fields=["last_affected_id"])
    if written:
        queue_on_commit(event_type=EventType.WEBHOOK, since=since)
    return written


def merchants_estimates_announce(*, incident_id: int, update_id: int) -> int:
    """``order.estimate_changed`` to each merchant's endpoints after the incident's estimates
    moved (timeline row ``update_id``): their parcels with the new estimate, in batches.
    Keyed on the row, so a rerun writes nothing twice."""
    incident = Incident.objects.select_related("category").get(pk=incident_id)
    if not incident.is_published:
        return 0
    since = timezone.now()
    written = 0
    data = _incident_data(incident)
    for merchant_id, endpoints in webhook_endpoints(event=WebhookEvent.ORDER_ESTIMATE_CHANGED, merchants=True).items():
        if merchant_id is None:  # as above
            continue
        parcels = (
            AffectedOrder.objects.filter(incident=incident, order__merchant_id=merchant_id)
            .order_by("pk")
            .values(*_AFFECTED_FIELDS)
        )
        batch: list[dict[str, object]] = []
        for row in parcels.iterator(chunk_size=2000):
            batch.append(row)
            if len(batch) == settings.WEBHOOK_BATCH_ORDERS:
                written += _estimates_publish(incident, update_id, data, batch, endpoints)
                batch = []
        if batch:
            written += _estimates_publish(incident, update_id, data, batch, endpoints)
    if written:
        queue_on_commit(event_type=EventType.WEBHOOK, since=since)
    return written


def _estimates_publish(
    incident: Incident,
    update_id: int,
    data: dict[str, object],
    batch: list[dict[str, object]],
    endpoints: list[WebhookEndpoint],
) -> int:
    return webhook_publish(
        event=WebhookEvent.ORDER_ESTIMATE_CHANGED,
        reference=f"{incident.pk}:{update_id}:{batch[0]['pk']}",
        data={"incident": data, "orders": _order_rows(batch)},
        endpoints=endpoints,
    )
