from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from compensation.approvals import (
    CompensationError,
    compensation_decide,
    compensation_goodwill,
    compensation_request_incident,
    compensation_request_issue,
)
from compensation.models import Coupon, CouponSource, RequestStatus
from complaints.services import complaint_file
from core import roles
from core.errors import ConflictError
from notifications.models import Notification
from tests.factories import OrderFactory, UserFactory
from tests.test_compensation_rules import typhoon_with_parcels

pytestmark = pytest.mark.django_db


@pytest.fixture
def complaint():
    order = OrderFactory()
    return complaint_file(customer=order.customer, order=order, reason="delay", description="延误", channel="phone")


def test_a_small_incident_compensation_is_approved_at_once_and_issued_with_messages(django_capture_on_commit_callbacks):
    incident, _parcels, _supervisor = typhoon_with_parcels()
    manager = UserFactory(role=roles.INCIDENT_MANAGER)

    with django_capture_on_commit_callbacks() as callbacks:
        request = compensation_request_incident(incident=incident, actor=manager)

    assert (request.status, request.orders, request.cost, request.decided_by) == (
        RequestStatus.APPROVED,
        4,
        Decimal("50"),
        manager,
    )
    assert len(callbacks) == 1  # the issue job, queued after commit
    assert compensation_request_issue(request_id=request.pk) == 4
    assert compensation_request_issue(request_id=request.pk) == 0
    request.refresh_from_db()
    assert (request.status, request.issued) == (RequestStatus.ISSUED, 4)
    assert Notification.objects.filter(event_type="compensation_issued").count() == 8  # SMS + email each
    coupon = Coupon.objects.filter(incident=incident).first()
    body = Notification.objects.get(event_key=f"coupon:{coupon.pk}", channel="sms").body
    assert coupon.code in body


def test_above_the_total_limit_a_supervisor_decides_and_an_agent_cannot(settings):
    settings.COMPENSATION_APPROVAL_TOTAL = Decimal("40")
    incident, _parcels, _supervisor = typhoon_with_parcels()
    manager = UserFactory(role=roles.INCIDENT_MANAGER)

    request = compensation_request_incident(incident=incident, actor=manager)
    assert request.status == RequestStatus.PENDING_APPROVAL

    with pytest.raises(PermissionDenied):
        compensation_decide(request_id=request.pk, actor=UserFactory(role=roles.CUSTOMER_SERVICE_AGENT), approve=True)
    with pytest.raises(PermissionDenied):
        compensation_decide(request_id=request.pk, actor=manager, approve=True)
    boss = UserFactory(role=roles.SUPERVISOR)
    decided = compensation_decide(request_id=request.pk, actor=boss, approve=True)

    assert (decided.status, decided.decided_by) == (RequestStatus.APPROVED, boss)
    with pytest.raises(ConflictError):
        compensation_decide(request_id=request.pk, actor=boss, approve=False)


def test_a_rejected_request_issues_nothing(settings):
    settings.COMPENSATION_APPROVAL_TOTAL = Decimal("0")
    incident, _parcels, _supervisor = typhoon_with_parcels()
    request = compensation_request_incident(incident=incident, actor=UserFactory(role=roles.INCIDENT_MANAGER))

    compensation_decide(request_id=request.pk, actor=UserFactory(role=roles.SUPERVISOR), approve=False)

    assert compensation_request_issue(request_id=request.pk) == 0
    assert not Coupon.objects.exists()


def test_goodwill_within_the_agents_limit_is_issued_at_once(complaint):
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)

    request = compensation_goodwill(complaint=complaint, actor=agent, value=Decimal("10"), note="致歉")

    coupon = Coupon.objects.get()
    assert (request.status, coupon.value, coupon.source, coupon.complaint, coupon.customer) == (
        RequestStatus.ISSUED,
        Decimal("10.00"),
        CouponSource.COMPLAINT,
        complaint,
        complaint.customer,
    )


def test_goodwill_above_the_agents_limit_waits_for_a_supervisor(complaint):
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)

    request = compensation_goodwill(complaint=complaint, actor=agent, value=Decimal("50"))

    assert request.status == RequestStatus.PENDING_APPROVAL
    assert not Coupon.objects.exists()
    with pytest.raises(PermissionDenied):
        compensation_decide(request_id=request.pk, actor=agent, approve=True)
    compensation_decide(request_id=request.pk, actor=UserFactory(role=roles.SUPERVISOR), approve=True)
    assert Coupon.objects.get().value == Decimal("50.00")


def test_nothing_to_issue_is_a_clear_error():
    incident, _parcels, supervisor = typhoon_with_parcels()
    compensation_request_incident(incident=incident, actor=supervisor)
    compensation_request_issue(request_id=incident.compensation_requests.get().pk)

    with pytest.raises(CompensationError):
        compensation_request_incident(incident=incident, actor=supervisor)


def test_agent_gives_a_goodwill_coupon_from_the_complaint_page_and_the_customer_sees_it(client, complaint):
    from django.urls import reverse

    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)
    client.force_login(agent)

    client.post(
        reverse("admin:complaints_complaint_goodwill", args=[complaint.pk]), {"value": "15", "note": "延误致歉"}
    )
    client.post(reverse("admin:complaints_complaint_goodwill", args=[complaint.pk]), {"value": "200"})

    coupon = Coupon.objects.get()
    assert coupon.value == Decimal("15.00")
    assert complaint.compensation_requests.filter(status=RequestStatus.PENDING_APPROVAL).count() == 1
    client.logout()
    page = client.get(reverse("complaint-detail", args=[complaint.access_token])).content.decode()
    assert coupon.code in page
