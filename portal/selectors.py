"""What the portal may show a customer who proved who they are, and the public."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

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


def order_for_proof(*, tracking_number: str, phone_last4: str) -> Order | None:
    """The order when the digits match its customer's phone; ``None`` otherwise.

    One query whether the number is unknown or the digits are wrong, and the
    digits compared in constant time, so neither the answer nor its timing tells
    anyone which tracking numbers exist. The lookup and complaint filing share it.
    """
    order = Order.objects.select_related("customer").filter(tracking_number=tracking_number).first()
    phone = order.customer.phone if order is not None else "0000"
    if not hmac.compare_digest(phone[-4:].encode(), phone_last4.encode()) or order is None:
        return None
    return order


def parcel_for_customer(*, tracking_number: str, phone_last4: str) -> ParcelView | None:
    """What the lookup shows once the phone digits prove the parcel is theirs."""
    from compensation.selectors import coupons_for_customer_view
    from incidents.models import AffectedOrder
    from notifications.models import Notification, Status

    order = order_for_proof(tracking_number=tracking_number, phone_last4=phone_last4)
    if order is None:
        return None
    links = list(
        AffectedOrder.objects.filter(order=order, incident__published_at__isnull=False)
        .select_related("incident", "incident__category")
        .order_by("-incident__reported_at")
    )
    incident_ids = [link.incident_id for link in links]
    return ParcelView(
        order=order,
        masked_name=_mask(order.customer.name),
        links=links,
        coupons=list(coupons_for_customer_view(customer_id=order.customer_id, order_id=order.pk)),
        messages_sent=Notification.objects.filter(
            customer_id=order.customer_id, incident_id__in=incident_ids, status__in=[Status.SENT, Status.DELIVERED]
        ).count(),
    )
