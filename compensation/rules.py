"""Compensation by rule: fixing what a request pays and issuing it. Which affected orders
earn which coupon, and what that costs, is read in ``compensation/selectors.py``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from itertools import islice

from django.db import transaction
from django.db.models import (
    Count,
    IntegerField,
    Sum,
    Value,
)
from django.utils import timezone

from compensation.codes import new_code
from compensation.models import (
    CompensationRequest,
    Coupon,
    CouponSource,
    PlannedCoupon,
)
from compensation.selectors import best_rule, orders_still_to_pay
from compensation.services import coupons_tell_customers
from core.bulk import insert_from_select

logger = logging.getLogger(__name__)
# Coupons written per INSERT: ~5,000 rows of a dozen columns, a few MB of parameters.
ISSUE_BATCH = 5000


def compensation_plan(*, request: CompensationRequest) -> tuple[int, Decimal]:
    """Fix what an incident request pays: one ``INSERT … SELECT`` of every order still
    to pay with its best rule's value, minimum spend and validity. Returns (orders, cost).

    Call it holding the incident's lock, so two requests never plan the same order.
    """
    rows = (
        orders_still_to_pay(incident=request.rules_incident)
        .annotate(
            plan_request=Value(request.pk, output_field=IntegerField()),
            rule_minimum_spend=best_rule("minimum_spend"),
            rule_valid_days=best_rule("valid_days"),
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
    incident = request.rules_incident
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
