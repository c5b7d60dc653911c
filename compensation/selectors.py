from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, DurationField, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery, Sum
from django_stubs_ext import WithAnnotations

from compensation.models import (
    LIVE_REQUEST_STATUSES,
    CompensationRule,
    Coupon,
    CouponSource,
    CouponStatus,
    PlannedCoupon,
)
from incidents.models import AffectedOrder

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


def best_rule(field: str) -> Subquery:
    """For the outer affected order: ``field`` of the most valuable rule it matches."""
    delay = ExpressionWrapper(OuterRef("new_estimate") - OuterRef("original_promise"), output_field=DurationField())
    rules = CompensationRule.objects.filter(incident_id=OuterRef("incident_id")).filter(
        Q(reason="") | Q(reason=OuterRef("reason")),
        Q(min_delay__isnull=True) | Q(min_delay__lte=delay),
    )
    return Subquery(rules.order_by("-value", "id").values(field)[:1])


class EarnedRule(TypedDict):
    """What ``eligible_orders`` adds to each affected order."""

    rule_id: int
    rule_value: Decimal


def eligible_orders(*, incident: Incident) -> QuerySet[WithAnnotations[AffectedOrder, EarnedRule]]:
    """The incident's affected orders with the rule each earns (``rule_id``), the rest left out."""
    return (
        AffectedOrder.objects.filter(incident=incident)
        .annotate(rule_id=best_rule("id"), rule_value=best_rule("value"))
        .filter(rule_id__isnull=False)
    )


def orders_still_to_pay(*, incident: Incident) -> QuerySet[WithAnnotations[AffectedOrder, EarnedRule]]:
    """Eligible orders without their coupon and outside every live request's plan."""
    already = Coupon.objects.filter(incident=incident, source=CouponSource.INCIDENT_RULE).values("order_id")
    planned = PlannedCoupon.objects.filter(
        request__incident=incident, request__status__in=LIVE_REQUEST_STATUSES
    ).values("order_id")
    return eligible_orders(incident=incident).exclude(order_id__in=already).exclude(order_id__in=planned)


@dataclass(frozen=True)
class RulePreview:
    rule: CompensationRule
    orders: int
    cost: Decimal


def compensation_preview(*, incident: Incident) -> tuple[list[RulePreview], int, Decimal]:
    """How many orders each rule would pay and the cost, before anything is asked for;
    orders that have their coupon, or are in a request not yet done, are not counted again."""
    rows = (
        orders_still_to_pay(incident=incident)
        .values("rule_id")
        .annotate(orders=Count("id"), cost=Sum("rule_value"))
        .order_by()
    )
    rules = {rule.pk: rule for rule in CompensationRule.objects.filter(incident=incident)}
    lines = sorted(
        (RulePreview(rules[row["rule_id"]], row["orders"], row["cost"]) for row in rows),
        key=lambda line: -line.rule.value,
    )
    return lines, sum(line.orders for line in lines), sum((line.cost for line in lines), Decimal("0"))
