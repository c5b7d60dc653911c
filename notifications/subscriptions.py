"""Status notices for anyone who asks: sign-up, confirmation, notices, and the way out.

Subscribers are not customers: their messages are outbox rows keyed on the
subscription, so they share sending, retries, receipts, quiet hours and STOP
with everything else, and get each notice once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation

from notifications.models import Channel, EventType, Notification, Status, StatusSubscription
from notifications.rendering import render

logger = logging.getLogger(__name__)

SIGNING_SALT = "notifications.status-subscription"
CONFIRM_LINK_MAX_AGE = 7 * 24 * 3600
CODE_MAX_AGE_SECONDS = 600
CODE_MAX_ATTEMPTS = 5
MAX_CONFIRMATIONS = 5
FAN_OUT_BATCH = 2000


def _code_hash(subscription_token: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{subscription_token}:{code}".encode(), hashlib.sha256).hexdigest()


def signed_link(subscription: StatusSubscription, action: str) -> str:
    token = signing.dumps({"s": subscription.pk, "a": action}, salt=SIGNING_SALT)
    return settings.PUBLIC_BASE_URL + reverse(f"status-subscription-{action}", args=[token])


def signed_link_read(token: str, action: str, *, max_age: int | None = None) -> StatusSubscription | None:
    try:
        data = signing.loads(token, salt=SIGNING_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    if data.get("a") != action:
        return None
    return StatusSubscription.objects.filter(pk=data.get("s")).first()


def subscription_request(
    *, channel: str, address: str, language: str, component_ids: Iterable[int]
) -> StatusSubscription:
    """Start (or restart) a sign-up and send the confirmation; nothing else is sent until it is confirmed.

    An address that is already confirmed is left as it is and told nothing, so
    the form neither reveals who subscribed nor lets a stranger change their choice.
    """
    with transaction.atomic():
        subscription, _created = StatusSubscription.objects.select_for_update().get_or_create(
            channel=channel,
            address=address,
            defaults={"language": language, "token": secrets.token_urlsafe(32)},
        )
        if subscription.is_active or subscription.confirmations_sent >= MAX_CONFIRMATIONS:
            return subscription
        code = f"{secrets.randbelow(1_000_000):06d}"
        subscription.language = language
        subscription.unsubscribed_at = None
        subscription.code_hash = _code_hash(subscription.token, code) if channel == Channel.SMS else ""
        subscription.code_attempts = 0
        subscription.confirmations_sent += 1
        subscription.save()
        subscription.components.set(component_ids)
        _send_confirmation(subscription, code)
    return subscription


def _send_confirmation(subscription: StatusSubscription, code: str) -> None:
    from notifications.messages import template_for
    from notifications.services import notifications_queue_after_commit

    link = signed_link(subscription, "confirm")
    subject, body = template_for(EventType.STATUS_CONFIRM, subscription.channel, subscription.language)
    context = {"code": code, "link": link}
    event_key = f"status-confirm:{subscription.pk}:{subscription.confirmations_sent}"
    now = timezone.now()
    Notification.objects.create(
        event_type=EventType.STATUS_CONFIRM,
        event_key=event_key,
        subscription=subscription,
        channel=subscription.channel,
        language=subscription.language,
        recipient=subscription.address,
        critical=True,  # a code is wanted now, quiet hours or not
        subject=render(subject, context),
        body=render(body, context),
        next_attempt_at=now,
        created_at=now,
    )
    notifications_queue_after_commit(event_key=event_key)


def subscription_confirm(*, subscription: StatusSubscription) -> None:
    StatusSubscription.objects.filter(pk=subscription.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now(), unsubscribed_at=None, code_hash=""
    )
    subscription.refresh_from_db()
    logger.info("status subscription confirmed", extra={"subscription": subscription.pk})


def subscription_code_check(*, subscription: StatusSubscription, code: str) -> bool:
    """The SMS code: right within 10 minutes and 5 tries confirms; returns whether it did."""
    with transaction.atomic():
        locked = StatusSubscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.is_active:
            return True
        last_sent = locked.notifications.filter(event_type=EventType.STATUS_CONFIRM).order_by("-created_at").first()
        expired = last_sent is None or (timezone.now() - last_sent.created_at).total_seconds() > CODE_MAX_AGE_SECONDS
        if expired or not locked.code_hash or locked.code_attempts >= CODE_MAX_ATTEMPTS:
            return False
        locked.code_attempts += 1
        locked.save(update_fields=["code_attempts"])
        right = hmac.compare_digest(locked.code_hash, _code_hash(locked.token, code.strip()))
    if right:
        subscription_confirm(subscription=subscription)
    return right


def subscription_cancel(*, subscription: StatusSubscription) -> None:
    """Unsubscribe; what is still waiting to go to them is suppressed."""
    with transaction.atomic():
        StatusSubscription.objects.filter(pk=subscription.pk, unsubscribed_at__isnull=True).update(
            unsubscribed_at=timezone.now()
        )
        Notification.objects.filter(subscription=subscription, status=Status.PENDING).update(
            status=Status.SUPPRESSED, last_error="recipient unsubscribed"
        )
    subscription.refresh_from_db()
    logger.info("status subscription cancelled", extra={"subscription": subscription.pk})


def subscriptions_stop_phone(*, phone: str) -> int:
    """STOP from a phone ends its SMS status notices too."""
    ended = 0
    for subscription in StatusSubscription.objects.filter(
        channel=Channel.SMS, address=phone, unsubscribed_at__isnull=True
    ):
        subscription_cancel(subscription=subscription)
        ended += 1
    return ended


def status_notice_fan_out(*, update_id: int) -> int:
    """One notice per confirmed subscriber of the update's components (or of all), once each."""
    from incidents.models import IncidentStatus, IncidentUpdate, Severity, Visibility

    update = (
        IncidentUpdate.objects.select_related("incident").filter(pk=update_id, visibility=Visibility.PUBLIC).first()
    )
    if update is None:
        return 0
    incident = update.incident

    def context(language: str) -> dict[str, str]:  # called with ``language`` active
        english = language == "en"
        return {
            "incident_title": incident.localized("title"),
            "update_text": (update.body_en if english and update.body_en else update.body_zh).strip(),
            "status": str(IncidentStatus(update.status).label),
            "link": f"{settings.PUBLIC_BASE_URL}/incidents/{incident.pk}/",
        }

    return _notify_subscribers(
        event_key=f"status-notice:{update.pk}",
        component_ids=list(incident.component_impacts.values_list("component_id", flat=True)),
        context=context,
        critical=incident.severity == Severity.CRITICAL,
        incident=incident,
        update=update,
    )


# Maintenance states subscribers hear about; "verifying" is internal.
MAINTENANCE_NOTICE_STATES = {"scheduled", "in_progress", "completed", "cancelled"}


def maintenance_notice_fan_out(*, maintenance_id: int) -> int:
    """Subscribers of the maintenance's components hear when it is scheduled, starts, ends or is cancelled.

    Keyed on the state, so each state is announced once whoever calls.
    """
    from django.utils.formats import date_format

    from components.models import Maintenance, MaintenanceState

    maintenance = Maintenance.objects.filter(pk=maintenance_id).first()
    if maintenance is None or maintenance.state not in MAINTENANCE_NOTICE_STATES:
        return 0

    def context(language: str) -> dict[str, str]:  # called with ``language`` active
        window = " – ".join(
            date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
            for moment in (maintenance.starts_at, maintenance.ends_at)
        )
        return {
            "incident_title": maintenance.localized("title"),
            "update_text": f"{maintenance.localized('description')} ({window})".strip(),
            "status": str(MaintenanceState(maintenance.state).label),
            "link": f"{settings.PUBLIC_BASE_URL}/",
        }

    return _notify_subscribers(
        event_key=f"maintenance-notice:{maintenance.pk}:{maintenance.state}",
        component_ids=list(maintenance.components.values_list("pk", flat=True)),
        context=context,
        critical=False,
    )


def _notify_subscribers(
    *,
    event_key: str,
    component_ids: list[int],
    context: Any,
    critical: bool,
    incident: Any = None,
    update: Any = None,
) -> int:
    """Write one rendered notice per active subscriber of ``component_ids`` (or of all), then queue them.

    One rendering per channel and language; rows go in batches that skip
    conflicts, so a re-run adds nothing.
    """
    from notifications.messages import template_for
    from notifications.services import notifications_queue_after_commit, quiet_hours_release

    subscribers = StatusSubscription.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True).filter(
        Q(components__isnull=True) | Q(components__in=component_ids)
    )
    rendered: dict[tuple[str, str], tuple[str, str]] = {}
    for channel in Channel.values:
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                values = context(language)
            subject, body = template_for(EventType.STATUS_NOTICE, channel, language)
            rendered[(channel, language)] = (render(subject, values), render(body, values))
    now = timezone.now()
    written = 0
    batch: list[Notification] = []
    for subscription in subscribers.distinct().order_by("pk").iterator(chunk_size=FAN_OUT_BATCH):
        subject, body = rendered[(subscription.channel, subscription.language)]
        due = now if critical or subscription.channel == Channel.EMAIL else quiet_hours_release(now)
        batch.append(
            Notification(
                event_type=EventType.STATUS_NOTICE,
                event_key=event_key,
                subscription=subscription,
                channel=subscription.channel,
                language=subscription.language,
                recipient=subscription.address,
                incident=incident,
                incident_update=update,
                critical=critical,
                subject=subject,
                body=body,
                next_attempt_at=due,
                created_at=now,
            )
        )
        if len(batch) >= FAN_OUT_BATCH:
            written += _insert(batch)
            batch = []
    written += _insert(batch)
    if written:
        notifications_queue_after_commit(event_key=event_key)
    logger.info("status notices fanned out", extra={"event_key": event_key, "rows": written})
    return written


def _insert(batch: list[Notification]) -> int:
    """Insert, skipping rows already there; returns how many were new."""
    if not batch:
        return 0
    rows = Notification.objects.filter(event_key=batch[0].event_key)
    with transaction.atomic():
        before = rows.count()
        Notification.objects.bulk_create(batch, ignore_conflicts=True)
        return rows.count() - before


def notify_status_subscribers(*, update_id: int, **_: Any) -> None:
    """Receiver of ``incidents.hooks.public_update_committed``. Never raises into the request."""
    try:
        status_notice_fan_out(update_id=update_id)
    except Exception:
        logger.exception("status notices not written", extra={"update": update_id})


def notify_maintenance_subscribers(*, instance: Any, **_: Any) -> None:
    """``post_save`` receiver of Maintenance: announce its state once the change commits."""
    maintenance_id = instance.pk

    def announce() -> None:
        try:
            maintenance_notice_fan_out(maintenance_id=maintenance_id)
        except Exception:
            logger.exception("maintenance notices not written", extra={"maintenance": maintenance_id})

    transaction.on_commit(announce)
