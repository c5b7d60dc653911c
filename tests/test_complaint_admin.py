from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints.models import Complaint, ComplaintStatus
from complaints.services import complaint_file
from core import roles
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def file_complaint(hours_ago: float = 0) -> Complaint:
    order = OrderFactory()
    return complaint_file(
        customer=order.customer,
        order=order,
        reason="delay",
        description="还没到",
        channel="portal",
        now=timezone.now() - timedelta(hours=hours_ago),
    )


@pytest.fixture
def agent_browser(client):
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)
    client.force_login(agent)
    client.agent = agent
    return client


def test_queue_puts_the_nearest_deadline_first_and_marks_overdue(agent_browser):
    fresh = file_complaint(hours_ago=1)
    overdue = file_complaint(hours_ago=30)

    page = agent_browser.get(
        reverse("admin:complaints_complaint_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert page.index(overdue.reference) < page.index(fresh.reference)
    assert "overdue by 6 h" in page
    assert "access_token" not in page and overdue.access_token not in page


def test_overdue_and_my_filters(agent_browser):
    file_complaint(hours_ago=1)
    overdue = file_complaint(hours_ago=30)
    changelist = reverse("admin:complaints_complaint_changelist")

    overdue_page = agent_browser.get(changelist, {"deadline": "overdue"}).content.decode()
    mine_page = agent_browser.get(changelist, {"mine": "me"}).content.decode()

    assert overdue.reference in overdue_page
    assert overdue.reference not in mine_page


def test_assign_to_me_then_reply_from_the_complaint_page(agent_browser):
    complaint = file_complaint(hours_ago=2)
    changelist = reverse("admin:complaints_complaint_changelist")

    agent_browser.post(changelist, {"action": "assign_to_me", "_selected_action": [complaint.pk]})
    complaint.refresh_from_db()
    assert (complaint.assignee, complaint.status) == (agent_browser.agent, ComplaintStatus.ASSIGNED)

    page = agent_browser.get(
        reverse("admin:complaints_complaint_change", args=[complaint.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert complaint.order.tracking_number in page
    assert "还没到" in page

    agent_browser.post(
        reverse("admin:complaints_complaint_reply", args=[complaint.pk]), {"body": "内部:已联系网点", "internal": "on"}
    )
    assert Complaint.objects.get(pk=complaint.pk).reply_due_at is not None
    agent_browser.post(reverse("admin:complaints_complaint_reply", args=[complaint.pk]), {"body": "您好,包裹今天派送"})
    complaint.refresh_from_db()
    assert (complaint.reply_due_at, complaint.status) == (None, ComplaintStatus.AWAITING_CUSTOMER)


def test_staff_without_the_role_cannot_see_the_queue(client):
    client.force_login(UserFactory(role=roles.INCIDENT_MANAGER))

    assert client.get(reverse("admin:complaints_complaint_changelist")).status_code == 403


def test_bulk_assign_to_a_colleague(agent_browser):
    colleague = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT, username="wangli")
    first, second = file_complaint(), file_complaint()

    agent_browser.post(
        reverse("admin:complaints_complaint_changelist"),
        {"action": f"assign_to_{colleague.pk}", "_selected_action": [first.pk, second.pk]},
    )

    assert set(Complaint.objects.values_list("assignee__username", flat=True)) == {"wangli"}
