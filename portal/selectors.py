"""What the portal may show a customer who proved who they are, and the public."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, F, Func, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from orders.models import Order


@dataclass
class ParcelView:
    order: Order
    masked_name: str
    links: list[Any] = field(default_factory=list)
    coupons: list[Any] = field(default_factory=list)
    messages_sent: int = 0


def _mask(name: str) -> str:
    # 王芳 → 王*; enough for the customer to recognise, nothing for anyone else.
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def order_for_proof(*, tracking_number: str, phone_last4: str, orders: QuerySet[Order] | None = None) -> Order | None:
    """The order when the digits match its customer's phone; ``None`` otherwise.

    One query whether the number is unknown or the digits are wrong, and the
    digits compared in constant time, so neither the answer nor its timing tells
    anyone which tracking numbers exist. The lookup and complaint filing share it;
    ``orders`` lets the lookup read more in the same query.
    """
    orders = orders if orders is not None else Order.objects.all()
    order = orders.select_related("customer").filter(tracking_number=tracking_number).first()
    phone = order.customer.phone if order is not None else "0000"
    if not hmac.compare_digest(phone[-4:].encode(), phone_last4.encode()) or order is None:
        return None
    return order


def parcel_for_customer(*, tracking_number: str, phone_last4: str) -> ParcelView | None:
    """What the lookup shows once the phone digits prove the parcel is theirs.

    One query for a parcel no incident touched — most of them, even in a large
    outage — and one more each for its incidents and its coupons when it has any:
    the lookup is what a crowd of worried customers runs during an outage.
    """
    from compensation.selectors import coupons_for_customer_view
    from incidents.models import AffectedOrder
    from notifications.models import Notification, Status

    links = AffectedOrder.objects.filter(order_id=OuterRef("pk"))
    order = order_for_proof(
        tracking_number=tracking_number,
        phone_last4=phone_last4,
        orders=Order.objects.annotate(
            is_affected=Exists(links),
            has_coupons=Exists(coupons_for_customer_view(customer_id=OuterRef("customer_id"), order_id=OuterRef("pk"))),
        ),
    )
    if order is None:
        return None
    parcel = ParcelView(order=order, masked_name=_mask(order.customer.name))
    if order.is_affected:  # type: ignore[attr-defined]
        messages = Notification.objects.filter(
            customer_id=order.customer_id,
            incident_id=OuterRef("incident_id"),
            status__in=[Status.SENT, Status.DELIVERED],
        )
        parcel.links = list(
            AffectedOrder.objects.filter(order=order)
            .select_related("incident", "incident__category")
            .annotate(messages_sent=Coalesce(Subquery(_count(messages)), 0))
            .order_by("-incident__reported_at")
        )
        parcel.messages_sent = sum(link.messages_sent for link in parcel.links)
    if order.has_coupons:  # type: ignore[attr-defined]
        parcel.coupons = list(coupons_for_customer_view(customer_id=order.customer_id, order_id=order.pk))
    return parcel


def _count(rows: QuerySet[Any]) -> QuerySet[Any]:
    """``rows`` as a one-column subquery of their number."""
    return rows.order_by().annotate(total=Func(F("pk"), function="COUNT")).values("total")
