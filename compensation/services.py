"""Coupons: redeem exactly once, revoke, expire."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compensation.codes import normalize_code
from compensation.models import Coupon, CouponStatus, Redemption
from customers.models import Customer
from notifications.models import EventType, WebhookEvent
from notifications.outbox import (
    CustomerMessage,
    EventKey,
    customers_message,
    queue_on_commit,
    webhook_endpoints,
    webhook_publish,
)
from orders.models import Order

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RedeemAnswer:
    status_code: int
    body: dict[str, Any]


def _refusal(coupon: Coupon | None, *, customer_external_id: str, order_amount: Decimal, now: datetime) -> RedeemAnswer:
    """Why a coupon could not be redeemed, in the order a shop would want to know."""
    if coupon is None or coupon.customer.external_id != customer_external_id:
        # The same answer for a wrong code and someone else's code: codes are not to be probed.
        return RedeemAnswer(
            404, {"redeemed": False, "error": "unknown_code", "detail": _("No such coupon for this customer.")}
        )
    reasons: dict[str, tuple[str, str]] = {
        CouponStatus.REDEEMED: ("already_redeemed", _("This coupon was already redeemed.")),
        CouponStatus.EXPIRED: ("expired", _("This coupon has expired.")),
        CouponStatus.REVOKED: ("revoked", _("This coupon was revoked.")),
    }
    if coupon.status in reasons:
        error, detail = reasons[coupon.status]
        return RedeemAnswer(409, {"redeemed": False, "error": error, "detail": detail})
    if now < coupon.valid_from:
        return RedeemAnswer(
            409, {"redeemed": False, "error": "not_yet_valid", "detail": _("This coupon is not valid yet.")}
        )
    if now >= coupon.valid_until:
        return RedeemAnswer(409, {"redeemed": False, "error": "expired", "detail": _("This coupon has expired.")})
    return RedeemAnswer(
        409,
        {
            "redeemed": False,
            "error": "minimum_spend",
            "detail": _("The order must come to at least ¥%(minimum)s; it is ¥%(amount)s.")
            % {"minimum": coupon.minimum_spend, "amount": order_amount},
        },
    )


def _request_hash(code: str, customer_external_id: str, order_amount: Decimal) -> str:
    body = json.dumps([code, customer_external_id, str(order_amount.normalize())], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _replay(stored: Redemption, request_hash: str) -> RedeemAnswer:
    if stored.request_hash != request_hash:
        return RedeemAnswer(
            422,
            {
                "redeemed": False,
                "error": "idempotency_key_reused",
                "detail": _("This Idempotency-Key was used with another request; use a new key for a new request."),
            },
        )
    return RedeemAnswer(stored.status_code, stored.response)


def coupon_redeem(
    *,
    code: str,
    customer_external_id: str,
    order_amount: Decimal,
    idempotency_key: str = "",
    client: User | None = None,
    now: datetime | None = None,
) -> RedeemAnswer:
    """Redeem a coupon for a customer's order, at most once.

    One conditional ``UPDATE … WHERE status = 'issued' AND …`` decides: of any
    number of concurrent attempts exactly one changes the row. With an
    idempotency key, a retried request gets the first answer again, even when
    the retry races the original. The key is the client's own, and bound to the
    request: the same key with another code, customer or amount is a 422.
    """
    code = normalize_code(code)
    now = now or timezone.now()
    request_hash = _request_hash(code, customer_external_id, order_amount)
    client_id = client.pk if client is not None else None
    if idempotency_key:
        stored = Redemption.objects.filter(client_id=client_id, idempotency_key=idempotency_key).first()
        if stored is not None:
            return _replay(stored, request_hash)
    # The customer's id first: the UPDATE below must touch one table only, so that
    # PostgreSQL re-checks every condition on the row a concurrent winner just
    # changed (a join makes it "id IN (sub-select)", checked on a stale snapshot).
    customer_id = Customer.objects.filter(external_id=customer_external_id).values_list("id", flat=True).first()
    try:
        with transaction.atomic():
            changed = Coupon.objects.filter(
                code=code,
                customer_id=customer_id,  # type: ignore[misc]  # None (no such customer) matches no coupon
                status=CouponStatus.ISSUED,
                valid_from__lte=now,
                valid_until__gt=now,
                minimum_spend__lte=order_amount,
            ).update(status=CouponStatus.REDEEMED, redeemed_at=now, redeemed_order_amount=order_amount)
            coupon = Coupon.objects.select_related("customer").filter(code=code).first()
            if changed and coupon is not None:  # changed: the row is there
                answer = RedeemAnswer(
                    200, {"redeemed": True, "code": code, "value": str(coupon.value), "redeemed_at": now.isoformat()}
                )
                logger.info("coupon redeemed", extra={"coupon": coupon.pk})
            else:
                answer = _refusal(coupon, customer_external_id=customer_external_id, order_amount=order_amount, now=now)
            if idempotency_key:
                Redemption.objects.create(
                    client_id=client_id,
                    idempotency_key=idempotency_key,
                    request_hash=request_hash,
                    code=code,
                    status_code=answer.status_code,
                    response=answer.body,
                )
    except IntegrityError:
        # The same key is being answered by a concurrent request: give its answer.
        return _replay(Redemption.objects.get(client_id=client_id, idempotency_key=idempotency_key), request_hash)
    return answer


def coupon_revoke(*, coupon_id: int, reason: str = "") -> bool:
    """Revoke an unredeemed coupon; returns whether it changed. A redeemed one stays redeemed."""
    changes: dict[str, Any] = {"status": CouponStatus.REVOKED}
    if reason:
        changes["reason"] = reason[:200]
    return bool(Coupon.objects.filter(pk=coupon_id, status=CouponStatus.ISSUED).update(**changes))


def coupons_expire(*, now: datetime | None = None) -> int:
    """Beat: issued coupons past their window become expired (one UPDATE, idempotent)."""
    return Coupon.objects.filter(status=CouponStatus.ISSUED, valid_until__lte=now or timezone.now()).update(
        status=CouponStatus.EXPIRED
    )


# Coupons told to their customers per batch of notification rows.
NOTIFY_BATCH = 2000


def coupons_tell_customers(*, coupons: list[Coupon]) -> None:
    """Write each coupon's SMS and email in the caller's transaction and queue them
    after it commits. A coupon told before is skipped (the outbox's unique key)."""
    since = timezone.now()
    for start in range(0, len(coupons), NOTIFY_BATCH):
        customers_message(
            event_type=EventType.COMPENSATION_ISSUED,
            messages=[
                CustomerMessage(
                    customer=coupon.customer,
                    event_key=EventKey.coupon_issued(coupon.pk),
                    context={
                        "coupon_code": coupon.code,
                        "coupon_value": f"{coupon.value:g}",
                        "coupon_valid_until": f"{timezone.localtime(coupon.valid_until):%Y-%m-%d}",
                    },
                )
                for coupon in coupons[start : start + NOTIFY_BATCH]
            ],
        )
    if coupons:
        queue_on_commit(event_type=EventType.COMPENSATION_ISSUED, since=since)
        if _coupons_tell_merchants(coupons):
            queue_on_commit(event_type=EventType.WEBHOOK, since=since)


def _coupons_tell_merchants(coupons: list[Coupon]) -> int:
    """``coupon.issued`` to the endpoints of the merchants whose orders earned the coupons,
    their own only, up to ``WEBHOOK_BATCH_ORDERS`` a delivery; returns the deliveries written."""
    taking = webhook_endpoints(event=WebhookEvent.COUPON_ISSUED, merchants=True)
    if not taking:
        return 0
    merchant_of = dict(
        Order.objects.filter(
            pk__in={coupon.order_id for coupon in coupons if coupon.order_id}, merchant_id__in=list(taking)
        ).values_list("pk", "merchant_id")
    )
    by_merchant: dict[int, list[Coupon]] = {}
    for coupon in sorted(coupons, key=lambda coupon: coupon.pk):
        if coupon.order_id in merchant_of:
            by_merchant.setdefault(merchant_of[coupon.order_id], []).append(coupon)
    # Keyed like Coupon.order_id (nullable), though only coupons with an order got this far.
    tracking_numbers: dict[int | None, str] = dict(
        Order.objects.filter(pk__in=merchant_of).values_list("pk", "tracking_number")
    )
    written = 0
    size = settings.WEBHOOK_BATCH_ORDERS
    for merchant_id, merchant_coupons in by_merchant.items():
        for start in range(0, len(merchant_coupons), size):
            batch = merchant_coupons[start : start + size]
            written += webhook_publish(
                event=WebhookEvent.COUPON_ISSUED,
                reference=f"{merchant_id}:{batch[0].pk}",
                data={
                    "coupons": [
                        {
                            "code": coupon.code,
                            "tracking_number": tracking_numbers[coupon.order_id],
                            "value": coupon.value,
                            "minimum_spend": coupon.minimum_spend,
                            "valid_from": coupon.valid_from,
                            "valid_until": coupon.valid_until,
                            "incident_id": coupon.incident_id,
                        }
                        for coupon in batch
                    ]
                },
                endpoints=taking[merchant_id],
            )
    return written
