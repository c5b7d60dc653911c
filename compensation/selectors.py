from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet, Sum

from compensation.models import Coupon, CouponStatus

if TYPE_CHECKING:
    from incidents.models import Incident


def incident_compensation_cost(*, incident: Incident) -> dict[str, int | Decimal]:
    """What the incident's coupons cost: issued (all) and redeemed, in CNY."""
    figures = Coupon.objects.filter(incident=incident).aggregate(
        issued_count=Count("id"),
        issued_value=Sum("value"),
        redeemed_count=Count("id", filter=Q(status=CouponStatus.REDEEMED)),
        redeemed_value=Sum("value", filter=Q(status=CouponStatus.REDEEMED)),
    )
    return {key: value if value is not None else Decimal("0") for key, value in figures.items()}


def coupons_for_customer_view(
    *, customer_id: int, order_id: int | None = None, complaint_id: int | None = None
) -> QuerySet[Coupon]:
    """Coupons to show a customer who proved who they are (phone digits or a private link):
    the parcel's incident coupon and the complaint's goodwill coupon."""
    wanted = Q()
    if order_id is not None:
        wanted |= Q(order_id=order_id)
    if complaint_id is not None:
        wanted |= Q(complaint_id=complaint_id)
    if not wanted:
        return Coupon.objects.none()
    return Coupon.objects.filter(wanted, customer_id=customer_id).order_by("-created_at")
