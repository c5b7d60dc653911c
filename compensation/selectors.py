from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from compensation.models import Coupon, CouponStatus


def incident_compensation_cost(*, incident: Any) -> dict[str, Any]:
    """What the incident's coupons cost: issued (all) and redeemed, in CNY."""
    figures = Coupon.objects.filter(incident=incident).aggregate(
        issued_count=Count("id"),
        issued_value=Sum("value"),
        redeemed_count=Count("id", filter=Q(status=CouponStatus.REDEEMED)),
        redeemed_value=Sum("value", filter=Q(status=CouponStatus.REDEEMED)),
    )
    return {key: value if value is not None else Decimal("0") for key, value in figures.items()}
