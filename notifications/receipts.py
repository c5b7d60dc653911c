"""What providers tell us after sending: delivery receipts, replies, bounces, complaints.

Receipts never move a message backwards and are idempotent; one that arrives
before its message's provider id is stored waits (``PendingReceipt``) and is
applied when the id lands. Inbound SMS are kept by the provider's id, so a
replayed webhook changes nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.consent import address_opt_in, address_opt_out
from notifications.models import Channel, InboundMessage, Notification, PendingReceipt, Status

logger = logging.getLogger(__name__)

# A provider's statuses in the order they happen; a callback never moves a message back.
_PROVIDER_STATUS = {
    "accepted": (1, Status.SENT),
    "queued": (1, Status.SENT),
    "sending": (2, Status.SENT),
    "sent": (3, Status.SENT),
    "delivered": (4, Status.DELIVERED),
    "undelivered": (4, Status.UNDELIVERED),
    "failed": (4, Status.FAILED),
    # Email providers (Anymail's normalised events).
    "bounced": (4, Status.UNDELIVERED),
    "rejected": (4, Status.UNDELIVERED),
    "complained": (5, Status.DELIVERED),
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


def notification_receipt_apply(
    *, provider_message_id: str, provider_status: str, error_code: str = "", keep_if_unknown: bool = True
) -> bool:
    """Apply a delivery receipt. Idempotent and order-proof: a late "sent" after
    "delivered" changes nothing. A receipt for an id no message carries yet is
    kept and applied when the id is written. Returns whether a message changed."""
    if provider_status not in _PROVIDER_STATUS or not provider_message_id:
        return False
    rank, ours = _PROVIDER_STATUS[provider_status]
    below = [status for status, our_rank in _RANK_OF_OURS.items() if our_rank < rank and status != Status.PENDING]
    changes: dict[str, Any] = {"status": ours, "provider_status": provider_status}
    if ours == Status.DELIVERED:
        changes["delivered_at"] = timezone.now()
    if error_code:
        changes["last_error"] = f"provider error {error_code}"[:300]
    updated = Notification.objects.filter(provider_message_id=provider_message_id, status__in=below).update(**changes)
    if (
        not updated
        and keep_if_unknown
        and not Notification.objects.filter(provider_message_id=provider_message_id).exists()
    ):
        PendingReceipt.objects.create(
            provider_message_id=provider_message_id[:64], provider_status=provider_status, error_code=error_code[:20]
        )
        receipts_waiting_note()
        logger.info("receipt kept until its message's id is stored", extra={"provider_status": provider_status})
    return bool(updated)


def pending_receipts_expire(*, older_than: timedelta) -> int:
    """Receipts whose message never showed up (an attempt we did not record) are dropped after a while."""
    deleted, _ = PendingReceipt.objects.filter(received_at__lt=timezone.now() - older_than).delete()
    return deleted


STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "退订"}
START_WORDS = {"START", "UNSTOP", "YES", "订阅"}


def inbound_sms_apply(*, from_number: str, body: str, provider_message_id: str = "") -> str | None:
    """STOP and friends opt the sender out of SMS, START opts back in. Returns the change.

    Once per provider message id: a replayed webhook (same ``MessageSid``) does nothing,
    so an old STOP replayed after a START cannot opt the number out again.
    """
    word = body.strip().upper()
    action = "opted_out" if word in STOP_WORDS else "opted_in" if word in START_WORDS else None
    if provider_message_id:
        try:
            with transaction.atomic():
                InboundMessage.objects.create(provider_message_id=provider_message_id[:64], action=action or "")
        except IntegrityError:
            logger.info("inbound sms seen before; ignored", extra={"sid": provider_message_id})
            return None
    if action == "opted_out":
        address_opt_out(channel=Channel.SMS, address=from_number, reason="recipient replied STOP")
    elif action == "opted_in":
        address_opt_in(channel=Channel.SMS, address=from_number)
    return action


# Anymail's normalised event types that end email to the address.
EMAIL_STOPPING_EVENTS = {"bounced", "complained", "unsubscribed"}


def email_tracking_apply(*, event_type: str, message_id: str, recipient: str, reject_reason: str = "") -> bool:
    """One email provider event (from Anymail's tracking webhook) as a receipt.

    A hard bounce, a spam complaint or the provider's own unsubscribe stops email
    to the address, as STOP does for SMS. A soft bounce ("deferred") changes
    nothing: the provider keeps trying.
    """
    changed = False
    if message_id and event_type in _PROVIDER_STATUS:
        changed = notification_receipt_apply(
            provider_message_id=message_id, provider_status=event_type, error_code=reject_reason
        )
    if event_type in EMAIL_STOPPING_EVENTS and recipient:
        address_opt_out(channel=Channel.EMAIL, address=recipient, reason=f"email {event_type}")
        changed = True
    return changed


# Receipts rarely come before their message's id is stored: whether any wait is
# looked up at most once a second per process, not on every write; the sweeper
# applies whatever waits for an id written meanwhile.
_RECEIPTS_LOOKED_UP_EVERY_SECONDS = 1.0
_receipts_looked_up = {"at": 0.0, "waiting": True}


def receipts_may_be_waiting() -> bool:
    now = time.monotonic()
    if now - _receipts_looked_up["at"] >= _RECEIPTS_LOOKED_UP_EVERY_SECONDS:
        _receipts_looked_up.update(at=now, waiting=PendingReceipt.objects.exists())
    return bool(_receipts_looked_up["waiting"])


def receipts_waiting_note() -> None:
    """A receipt was just kept in this process: the next write looks for it."""
    _receipts_looked_up["waiting"] = True


def receipts_waiting_apply(*, provider_message_ids: list[str] | None = None) -> int:
    """Apply the kept receipts whose message now carries their provider id; returns how many."""
    waiting_receipts = PendingReceipt.objects.order_by("pk")
    if provider_message_ids is not None:
        waiting_receipts = waiting_receipts.filter(provider_message_id__in=provider_message_ids)
    else:
        waiting_receipts = waiting_receipts.filter(
            provider_message_id__in=Notification.objects.exclude(provider_message_id="").values("provider_message_id")
        )
    waiting = list(waiting_receipts[:1000])
    for receipt in waiting:
        notification_receipt_apply(
            provider_message_id=receipt.provider_message_id,
            provider_status=receipt.provider_status,
            error_code=receipt.error_code,
            keep_if_unknown=False,
        )
    if waiting:
        PendingReceipt.objects.filter(pk__in=[receipt.pk for receipt in waiting]).delete()
    return len(waiting)
