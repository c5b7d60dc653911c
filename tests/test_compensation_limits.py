"""Money under a careless or hostile hand: cumulative approval, exact issue, goodwill caps,
rule validation, a failed issue, and redeem keys bound to client and body."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from compensation import rules
from compensation.admin import CompensationRuleForm
from compensation.approvals import (
    compensation_goodwill,
    compensation_request_incident,
    compensation_request_issue,
    compensation_request_resume,
)
from compensation.models import CompensationRequest, CompensationRule, Coupon, RequestStatus
from compensation.services import coupon_redeem
from complaints.services import complaint_file
from core import roles
from incidents.models import AffectedOrder
from notifications.models import Notification
from tests.factories import CouponFactory, CustomerFactory, OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


def _link(incident, count: int) -> list:
    orders = OrderFactory.create_batch(count)
    now = timezone.now()
    AffectedOrder.objects.bulk_create(
        AffectedOrder(incident=incident, order=order, original_promise=now, new_estimate=now, linked_at=now)
        for order in orders
    )
    return orders


def test_linking_in_slices_reaches_a_supervisor_once_the_incidents_total_passes_the_limit(settings):
    settings.COMPENSATION_APPROVAL_TOTAL = Decimal("25")
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    CompensationRule.objects.create(incident=incident, value=Decimal("10"))

    statuses = []
    for _slice in range(3):
        _link(incident, 1)
        statuses.append(compensation_request_incident(incident=incident, actor=manager).status)

    assert statuses == [RequestStatus.APPROVED, RequestStatus.APPROVED, RequestStatus.PENDING_APPROVAL]


def test_issuing_pays_exactly_the_approved_orders_and_values_whatever_changed_since():
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    rule = CompensationRule.objects.create(incident=incident, value=Decimal("5"))
    approved_orders = _link(incident, 2)
    request = compensation_request_incident(incident=incident, actor=manager)

    rule.value = Decimal("500")
    rule.save()
    _link(incident, 3)  # linked after the approval
    compensation_request_issue(request_id=request.pk)

    coupons = Coupon.objects.filter(incident=incident)
    assert sorted(coupons.values_list("order_id", flat=True)) == sorted(order.pk for order in approved_orders)
    assert set(coupons.values_list("value", flat=True)) == {Decimal("5.00")}


@pytest.fixture
def complaint():
    order = OrderFactory()
    return complaint_file(customer=order.customer, order=order, reason="delay", description="延误", channel="phone")


def test_goodwill_above_the_cap_per_complaint_waits_for_a_supervisor(settings, complaint):
    settings.GOODWILL_COMPLAINT_LIMIT = Decimal("30")
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)

    first = compensation_goodwill(complaint=complaint, actor=agent, value=Decimal("20"))
    second = compensation_goodwill(complaint=complaint, actor=agent, value=Decimal("20"))

    assert (first.status, second.status) == (RequestStatus.ISSUED, RequestStatus.PENDING_APPROVAL)
    assert Coupon.objects.filter(complaint=complaint).count() == 1


def test_goodwill_above_the_cap_per_customer_and_period_waits_for_a_supervisor(settings):
    settings.GOODWILL_CUSTOMER_LIMIT = Decimal("30")
    customer = CustomerFactory()
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)
    complaints = [
        complaint_file(customer=customer, reason="delay", description=f"第{n}次", channel="phone") for n in range(3)
    ]
    old = compensation_goodwill(complaint=complaints[0], actor=agent, value=Decimal("20"))
    CompensationRequest.objects.filter(pk=old.pk).update(
        requested_at=timezone.now() - timedelta(days=settings.GOODWILL_PERIOD_DAYS + 1)
    )

    within_period = compensation_goodwill(complaint=complaints[1], actor=agent, value=Decimal("20"))
    over = compensation_goodwill(complaint=complaints[2], actor=agent, value=Decimal("20"))
    supervisor = compensation_goodwill(
        complaint=complaints[2], actor=UserFactory(role=roles.SUPERVISOR), value=Decimal("20")
    )

    assert within_period.status == RequestStatus.ISSUED  # the old one is outside the period
    assert over.status == RequestStatus.PENDING_APPROVAL
    assert supervisor.status == RequestStatus.ISSUED


def test_no_goodwill_on_a_closed_complaint(complaint):
    from complaints.models import Complaint
    from core.errors import DomainError

    Complaint.objects.filter(pk=complaint.pk).update(status="closed")
    complaint.refresh_from_db()

    with pytest.raises(DomainError):
        compensation_goodwill(complaint=complaint, actor=UserFactory(role=roles.SUPERVISOR), value=Decimal("5"))


def test_the_complaint_page_shows_the_coupons_already_given(client, complaint):
    coupon = compensation_goodwill(
        complaint=complaint, actor=UserFactory(role=roles.SUPERVISOR), value=Decimal("15")
    ).complaint.coupons.get()
    client.force_login(UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))

    page = client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk])).content.decode()

    assert coupon.code in page and "¥15.00" in page


def test_a_rule_valid_for_zero_days_is_refused_by_the_form_and_by_the_database():
    incident = declare_incident()
    form = CompensationRuleForm(data={"reason": "", "value": "5", "minimum_spend": "0", "valid_days": "0"})

    assert "valid_days" in form.errors
    with pytest.raises(IntegrityError), transaction.atomic():
        CompensationRule.objects.create(incident=incident, value=Decimal("5"), valid_days=0)


@pytest.mark.django_db(transaction=True)
def test_a_failed_issue_is_recorded_resumable_and_never_leaves_a_coupon_untold(monkeypatch):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    CompensationRule.objects.create(incident=incident, value=Decimal("5"))
    orders = _link(incident, 4)
    request = CompensationRequest.objects.create(
        kind="incident_rules", incident=incident, cost=0, requested_by=manager, decided_by=manager, status="approved"
    )
    rules.compensation_plan(request=request)
    monkeypatch.setattr(rules, "ISSUE_BATCH", 2)
    # The database refuses the third parcel's coupon, as a broken constraint would.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_coupon() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_coupon BEFORE INSERT ON compensation_coupon FOR EACH ROW "
            f"WHEN (NEW.order_id = {orders[2].pk}) EXECUTE FUNCTION refuse_coupon()"
        )
    try:
        with pytest.raises(Exception, match="refused by the test"):
            compensation_request_issue(request_id=request.pk)
        request.refresh_from_db()
        issued_before_the_failure = list(Coupon.objects.filter(incident=incident))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_coupon ON compensation_coupon; DROP FUNCTION refuse_coupon()")

    assert request.status == RequestStatus.FAILED and "refused by the test" in request.error
    assert len(issued_before_the_failure) == 2
    told = set(Notification.objects.filter(event_type="compensation_issued").values_list("event_key", flat=True))
    assert {f"coupon:{coupon.pk}" for coupon in issued_before_the_failure} <= told

    assert compensation_request_resume(request_id=request.pk, actor=manager) is True
    assert compensation_request_issue(request_id=request.pk) == 2
    request.refresh_from_db()
    assert request.status == RequestStatus.ISSUED
    assert Notification.objects.filter(event_type="compensation_issued").count() == 4 * 2  # SMS and email


def test_the_same_idempotency_key_with_another_body_is_a_422_and_redeems_nothing():
    shop = UserFactory(role=roles.INTEGRATION)
    first, second = CouponFactory(), CouponFactory()

    answer, reused = (
        coupon_redeem(
            code=coupon.code,
            customer_external_id=coupon.customer.external_id,
            order_amount=Decimal("99"),
            idempotency_key="k1",
            client=shop,
        )
        for coupon in (first, second)
    )

    assert (answer.status_code, reused.status_code) == (200, 422)
    second.refresh_from_db()
    assert second.status == "issued"


def test_two_clients_may_use_the_same_idempotency_key(integration_client):
    other = _client(roles.INTEGRATION)
    first, second = CouponFactory(), CouponFactory()

    answers = [
        client.post(
            "/api/v1/coupons/redeem/",
            {"code": coupon.code, "customer": coupon.customer.external_id, "order_amount": "99"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="order-1",
        ).status_code
        for client, coupon in ((integration_client, first), (other, second))
    ]

    assert answers == [200, 200]


def _client(role):
    from tests.conftest import client_with_role

    return client_with_role(role)
