"""Compensation by rule: which affected orders earn which coupon, what it costs, and issuing it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db import transaction
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.utils import timezone

from compensation.codes import new_code
from compensation.models import (
    LIVE_REQUEST_STATUSES,
    CompensationRequest,
    CompensationRule,
    Coupon,
    CouponSource,
    PlannedCoupon,
)
from compensation.services import coupons_tell_customers
from core.bulk import insert_from_select

logger = logging.getLogger(__name__)
# Coupons written per INSERT: ~5,000 rows of a dozen columns, a few MB of parameters.
ISSUE_BATCH = 5000


def _best_rule(field: str) -> Subquery:
    """For the outer affected order: ``field`` of the most valuable rule it matches."""
    delay = ExpressionWrapper(OuterRef("new_estimate") - OuterRef("original_promise"), output_field=DurationField())
    rules = CompensationRule.objects.filter(incident_id=OuterRef("incident_id")).filter(
        Q(reason="") | Q(reason=OuterRef("reason")),
        Q(min_delay__isnull=True) | Q(min_delay__lte=delay),
    )
    return Subquery(rules.order_by("-value", "id").values(field)[:1])


def eligible_orders(*, incident: Any) -> QuerySet:
    """The incident's affected orders with the rule each earns (``rule_id``), the rest left out."""
    from incidents.models import AffectedOrder

    return (
        AffectedOrder.objects.filter(incident=incident)
        .annotate(rule_id=_best_rule("id"), rule_value=_best_rule("value"))
        .filter(rule_id__isnull=False)
    )


def _still_to_pay(incident: Any) -> QuerySet:
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


def compensation_preview(*, incident: Any) -> tuple[list[RulePreview], int, Decimal]:
    """How many orders each rule would pay and the cost, before anything is asked for;
    orders that have their coupon, or are in a request not yet done, are not counted again."""
    rows = _still_to_pay(incident).values("rule_id").annotate(orders=Count("id"), cost=Sum("rule_value")).order_by()
    rules = {rule.pk: rule for rule in CompensationRule.objects.filter(incident=incident)}
    lines = sorted(
        (RulePreview(rules[row["rule_id"]], row["orders"], row["cost"]) for row in rows),
        key=lambda line: -line.rule.value,
    )
    return lines, sum(line.orders for line in lines), sum((line.cost for line in lines), Decimal("0"))


def compensation_plan(*, request: CompensationRequest) -> tuple[int, Decimal]:
    """Fix what an incident request pays: one ``INSERT … SELECT`` of every order still
    to pay with its best rule's value, minimum spend and validity. Returns (orders, cost).

    Call it holding the incident's lock, so two requests never plan the same order.
    """
    rows = (
        _still_to_pay(request.incident)
        .annotate(
            plan_request=Value(request.pk, output_field=IntegerField()),
            rule_minimum_spend=_best_rule("minimum_spend"),
            rule_valid_days=_best_rule("valid_days"),
        )
        .values_list(
            "plan_request", "order_id", "order__customer_id", "rule_value", "rule_minimum_spend", "rule_valid_days"
        )
    )
    insert_from_select(
        PlannedCoupon,
        ["request", "order", "customer", "value", "minimum_spend", "valid_days"],
        rows,
        conflict_fields=["request", "order"],
    )
    totals = PlannedCoupon.objects.filter(request=request).aggregate(orders=Count("id"), cost=Sum("value"))
    return totals["orders"], totals["cost"] or Decimal("0")


def compensation_issue(*, request: CompensationRequest, on_batch: Callable[[int], None] | None = None) -> int:
    """Issue the request's planned coupons not issued yet, telling each customer; returns how many.

    Each batch is one transaction holding its coupons and their messages, so a coupon
    is never committed untold, and a run cut off midway (or failed) resumes after the
    last committed batch. At most one coupon per (incident, order) — a partial unique
    index, and inserts that skip conflicts — so a re-run, or two runs at once, issue
    only what is missing.
    """
    incident = request.incident
    mine = Coupon.objects.filter(incident=incident, source=CouponSource.INCIDENT_RULE)
    rows = (
        PlannedCoupon.objects.filter(request=request)
        .exclude(order_id__in=mine.values("order_id"))
        .values_list("order_id", "customer_id", "value", "minimum_spend", "valid_days")
        .order_by("id")
        .iterator(chunk_size=ISSUE_BATCH)
    )
    issued = 0
    while batch := list(islice(rows, ISSUE_BATCH)):
        now = timezone.now()
        coupons = [
            Coupon(
                code=new_code(),
                customer_id=customer_id,
                order_id=order_id,
                incident=incident,
                source=CouponSource.INCIDENT_RULE,
                value=value,
                minimum_spend=minimum_spend,
                valid_from=now,
                valid_until=now + timedelta(days=valid_days),
                reason=f"{incident.reference}",
                issued_by=request.decided_by,
            )
            for order_id, customer_id, value, minimum_spend, valid_days in batch
        ]
        with transaction.atomic():
            before = mine.count()
            Coupon.objects.bulk_create(coupons, ignore_conflicts=True)
            added = mine.count() - before
            # Told in the same transaction; a coupon told before is skipped by the outbox's unique key.
            coupons_tell_customers(
                coupons=list(mine.filter(order_id__in=[row[0] for row in batch]).select_related("customer"))
            )
            if on_batch:
                on_batch(added)
        issued += added
    logger.info("compensation issued", extra={"incident": incident.pk, "request": request.pk, "coupons": issued})
    return issued
