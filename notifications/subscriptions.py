"""Status notices for anyone who asks: sign-up, confirmation, and the way out.

Subscribers are not customers: their messages are outbox rows keyed on the
subscription, so they share sending, retries, receipts, quiet hours and STOP
with everything else, and get each notice once. Which notices they get is up to
the apps that announce things (incidents, components), through ``outbox``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from notifications.messages import SUBSCRIPTION_SALT, subscription_link
from notifications.models import Channel, EventType, Notification, Status, StatusSubscription
from notifications.outbox import EventKey, subscription_message

logger = logging.getLogger(__name__)

CONFIRM_LINK_MAX_AGE = 7 * 24 * 3600
CODE_MAX_AGE_SECONDS = 600
CODE_MAX_ATTEMPTS = 5
# Confirmations one address can be sent in CONFIRMATION_WINDOW; the window slides,
# so a stranger's sign-ups delay the owner by a day at most, never for ever.
MAX_CONFIRMATIONS = 5
CONFIRMATION_WINDOW = timedelta(hours=24)


class SignUpRefused(Exception):
    """The sign-up cannot be taken (a country we do not text, the hourly budget spent)."""


def _code_hash(subscription_token: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{subscription_token}:{code}".encode(), hashlib.sha256).hexdigest()


def signed_link(subscription: StatusSubscription, action: str) -> str:
    return subscription_link(subscription.pk, action)


def signed_link_read(token: str, action: str, *, max_age: int | None = None) -> StatusSubscription | None:
    try:
        data = signing.loads(token, salt=SUBSCRIPTION_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    if data.get("a") != action:
        return None
    return StatusSubscription.objects.filter(pk=data.get("s")).first()


def sms_sign_up_allowed(phone: str) -> bool:
    """Codes go only to the countries in ``SUBSCRIPTION_SMS_COUNTRIES``: the form
    cannot be used to send paid texts to premium numbers anywhere in the world."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return False
    return region in settings.SUBSCRIPTION_SMS_COUNTRIES


def _sms_budget_take() -> bool:
    """One code from the site-wide hourly budget (``SUBSCRIPTION_SMS_PER_HOUR``)."""
    key = f"subscription-sms-budget:{timezone.now():%Y%m%d%H}"
    cache.add(key, 0, timeout=3700)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=3700)
        used = 1
    return used <= settings.SUBSCRIPTION_SMS_PER_HOUR


def subscription_request(
    *, channel: str, address: str, language: str, component_ids: Iterable[int]
) -> StatusSubscription:
    """Start (or restart) a sign-up and send the confirmation; nothing else is sent until it is confirmed.

    The answer is the same whoever asks: an address already subscribed is left as
    it is and told nothing, and its code check fails like a wrong code, so the
    form reveals neither who subscribed nor lets a stranger change their choice.
    An address that unsubscribed must confirm again. Raises ``SignUpRefused`` for an
    SMS to a country we do not text, or when the hour's budget of codes is spent.
    """
    if channel == Channel.SMS and not sms_sign_up_allowed(address):
        raise SignUpRefused("country")
    with transaction.atomic():
        subscription, _created = StatusSubscription.objects.select_for_update().get_or_create(
            channel=channel,
            address=address,
            defaults={"language": language, "token": secrets.token_urlsafe(32)},
        )
        if subscription.is_active or _recent_confirmations(subscription) >= MAX_CONFIRMATIONS:
            return subscription
        if channel == Channel.SMS and not _sms_budget_take():
            logger.warning("status sign-up codes: the hourly budget is spent")
            raise SignUpRefused("budget")
        code = f"{secrets.randbelow(1_000_000):06d}"
        subscription.language = language
        if subscription.unsubscribed_at is not None:
            # Someone typing an address that left is not its owner coming back:
            # the owner confirms again, from their own inbox or phone.
            subscription.confirmed_at = None
            subscription.unsubscribed_at = None
        subscription.code_hash = _code_hash(subscription.token, code) if channel == Channel.SMS else ""
        subscription.code_attempts = 0
        subscription.confirmations_sent += 1
        subscription.save()
        subscription.components.set(component_ids)
        subscription_message(
            subscription=subscription,
            event_type=EventType.STATUS_CONFIRM,
            event_key=EventKey.status_confirm(subscription.pk, subscription.confirmations_sent),
            context={"code": code, "link": signed_link(subscription, "confirm")},
        )
    return subscription


def _recent_confirmations(subscription: StatusSubscription) -> int:
    if subscription._state.adding:  # not saved yet, so no messages
        return 0
    return subscription.notifications.filter(
        event_type=EventType.STATUS_CONFIRM, created_at__gte=timezone.now() - CONFIRMATION_WINDOW
    ).count()


def subscription_confirm(*, subscription: StatusSubscription) -> None:
    StatusSubscription.objects.filter(pk=subscription.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now(), unsubscribed_at=None, code_hash=""
    )
    subscription.refresh_from_db()
    logger.info("status subscription confirmed", extra={"subscription": subscription.pk})


def subscription_code_check(*, subscription: StatusSubscription, code: str) -> bool:
    """The SMS code: right within 10 minutes and 5 tries confirms; returns whether it did.

    An already active subscription has no code waiting, so any code fails, exactly
    as a wrong one does for anyone else.
    """
    with transaction.atomic():
        locked = StatusSubscription.objects.select_for_update().get(pk=subscription.pk)
        last_sent = locked.notifications.filter(event_type=EventType.STATUS_CONFIRM).order_by("-created_at").first()
        expired = last_sent is None or (timezone.now() - last_sent.created_at).total_seconds() > CODE_MAX_AGE_SECONDS
        if locked.is_active or expired or not locked.code_hash or locked.code_attempts >= CODE_MAX_ATTEMPTS:
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
