from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from compensation.models import CompensationRequest, CompensationRule, Coupon, RequestKind, RequestStatus
from compensation.rules import compensation_issue, compensation_plan
from compensation.selectors import compensation_preview
from core import roles
from incidents.models import AffectedOrder
from tests.concurrency import run_together
from tests.factories import OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


def typhoon_with_parcels():
    """Six parcels: delayed 12 h, 30 h, 30 h, 80 h, lost (no delay), and one of another customer twice."""
    supervisor = UserFactory(role=roles.SUPERVISOR)
    incident = declare_incident(actor=supervisor, category_code="logistics")
    promise = timezone.now() + timedelta(days=1)
    delays = {
        "12h": (timedelta(hours=12), "delayed"),
        "30h-a": (timedelta(hours=30), "delayed"),
        "30h-b": (timedelta(hours=30), "delayed"),
        "80h": (timedelta(hours=80), "delayed"),
        "lost": (timedelta(0), "lost"),
    }
    parcels = {}
    for name, (delay, reason) in delays.items():
        order = OrderFactory(promised_delivery=promise)
        AffectedOrder.objects.create(
            incident=incident,
            order=order,
            reason=reason,
            original_promise=promise,
            new_estimate=promise + delay,
            linked_at=timezone.now(),
        )
        parcels[name] = order
    CompensationRule.objects.create(
        incident=incident, min_delay=timedelta(hours=24), value=Decimal("5"), minimum_spend=Decimal("30")
    )
    CompensationRule.objects.create(incident=incident, min_delay=timedelta(hours=72), value=Decimal("20"))
    CompensationRule.objects.create(incident=incident, reason="lost", value=Decimal("20"))
    return incident, parcels, supervisor


def approved_plan(incident, actor) -> CompensationRequest:
    """An approved incident request with its plan, as the request service writes it."""
    request = CompensationRequest.objects.create(
        kind=RequestKind.INCIDENT_RULES,
        incident=incident,
        cost=Decimal("0"),
        requested_by=actor,
        decided_by=actor,
        status=RequestStatus.APPROVED,
    )
    compensation_plan(request=request)
    return request


def test_preview_counts_orders_and_cost_per_rule_before_issuing():
    incident, _parcels, _supervisor = typhoon_with_parcels()

    lines, orders, cost = compensation_preview(incident=incident)

    assert (orders, cost) == (4, Decimal("50"))  # 2 × ¥5 for 30 h, ¥20 for 80 h, ¥20 for lost; 12 h earns nothing
    assert sorted((str(line.rule.value), line.orders) for line in lines) == [("20.00", 1), ("20.00", 1), ("5.00", 2)]
    assert not Coupon.objects.exists()


def test_each_order_gets_its_best_rule_once_and_a_rerun_adds_nothing():
    incident, parcels, supervisor = typhoon_with_parcels()

    request = approved_plan(incident, supervisor)
    first = compensation_issue(request=request)
    again = compensation_issue(request=request)

    assert (first, again) == (4, 0)
    values = {coupon.order_id: coupon.value for coupon in Coupon.objects.filter(incident=incident)}
    assert values == {
        parcels["30h-a"].pk: Decimal("5.00"),
        parcels["30h-b"].pk: Decimal("5.00"),
        parcels["80h"].pk: Decimal("20.00"),
        parcels["lost"].pk: Decimal("20.00"),
    }
    assert Coupon.objects.get(order=parcels["30h-a"]).minimum_spend == Decimal("30.00")
    assert compensation_preview(incident=incident)[1:] == (0, Decimal("0"))


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_issue_each_coupon_once():
    incident, _parcels, supervisor = typhoon_with_parcels()
    request = approved_plan(incident, supervisor)
    run_together(lambda _index: compensation_issue(request=request), 2)

    assert Coupon.objects.filter(incident=incident).count() == 4
    assert Coupon.objects.values("order_id").distinct().count() == 4
