"""Compensation by rule: which affected orders earn which coupon, what it costs, and issuing it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, DurationField, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from compensation.codes import new_code
from compensation.models import CompensationRule, Coupon, CouponSource

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


@dataclass(frozen=True)
class RulePreview:
    rule: CompensationRule
    orders: int
    cost: Decimal


def compensation_preview(*, incident: Any) -> tuple[list[RulePreview], int, Decimal]:
    """How many orders each rule would pay and the cost, before anything is issued;
    orders that already have their coupon are not counted again."""
    already = Coupon.objects.filter(incident=incident, source=CouponSource.INCIDENT_RULE).values("order_id")
    rows = (
        eligible_orders(incident=incident)
        .exclude(order_id__in=already)
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


def compensation_issue(
    *, incident: Any, actor: AbstractBaseUser | None, on_batch: Callable[[int], None] | None = None
) -> int:
    """Issue every coupon the rules award that is not issued yet; returns how many.

    At most one per (incident, order) — a partial unique index, and inserts that
    skip conflicts — so a re-run, or two runs at once, issue only what is missing.
    Batched: rows stream from one query and go in by ISSUE_BATCH. The count is the
    table before and after, so a concurrent run's coupons may be counted here too.
    """
    now = timezone.now()
    rules = {rule.pk: rule for rule in CompensationRule.objects.filter(incident=incident)}
    already = Coupon.objects.filter(incident=incident, source=CouponSource.INCIDENT_RULE).values("order_id")
    rows = (
        eligible_orders(incident=incident)
        .exclude(order_id__in=already)
        .values_list("order_id", "order__customer_id", "rule_id")
        .order_by("id")
        .iterator(chunk_size=ISSUE_BATCH)
    )
    mine = Coupon.objects.filter(incident=incident, source=CouponSource.INCIDENT_RULE)
    before = mine.count()
    while batch := list(islice(rows, ISSUE_BATCH)):
        coupons = [
            Coupon(
                code=new_code(),
                customer_id=customer_id,
                order_id=order_id,
                incident=incident,
                source=CouponSource.INCIDENT_RULE,
                value=rules[rule_id].value,
                minimum_spend=rules[rule_id].minimum_spend,
                valid_from=now,
                valid_until=now + timedelta(days=rules[rule_id].valid_days),
                reason=f"{incident.reference}",
                issued_by=actor,
            )
            for order_id, customer_id, rule_id in batch
        ]
        batch_before = mine.count() if on_batch else 0
        Coupon.objects.bulk_create(coupons, ignore_conflicts=True)
        if on_batch:
            on_batch(mine.count() - batch_before)
    issued = mine.count() - before
    logger.info("compensation issued", extra={"incident": incident.pk, "coupons": issued})
    return issued
