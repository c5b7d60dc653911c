from __future__ import annotations

import pytest
from django.urls import reverse

from complaints.models import Complaint
from core import roles
from tests.conftest import client_with_role
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_agent_files_a_phone_complaint_replies_and_resolves(agent_client):
    order = OrderFactory()

    filed = agent_client.post(
        reverse("api-complaint-list"),
        {"tracking_number": order.tracking_number.lower(), "reason": "lost", "description": "电话投诉:丢件"},
        format="json",
    )

    assert filed.status_code == 201, filed.json()
    reference = filed.json()["reference"]
    assert (filed.json()["channel"], filed.json()["customer"]) == ("phone", order.customer.external_id)
    note = agent_client.post(
        reverse("api-complaint-messages", args=[reference]), {"body": "已核实", "internal": True}, format="json"
    )
    reply = agent_client.post(
        reverse("api-complaint-messages", args=[reference]), {"body": "已为您补发"}, format="json"
    )
    resolved = agent_client.post(
        reverse("api-complaint-transition", args=[reference]), {"action": "resolve"}, format="json"
    )

    assert (note.json()["kind"], reply.json()["kind"]) == ("note", "reply")
    assert resolved.json()["status"] == "resolved"
    closed = agent_client.post(
        reverse("api-complaint-transition", args=[reference]), {"action": "close"}, format="json"
    )
    assert closed.json()["status"] == "closed"
    again = agent_client.post(reverse("api-complaint-transition", args=[reference]), {"action": "close"}, format="json")
    assert again.status_code == 409
    assert agent_client.get(reverse("api-complaint-list")).json()["count"] == 1


def test_resolving_with_a_reply_owed_is_refused(agent_client):
    order = OrderFactory()
    reference = agent_client.post(
        reverse("api-complaint-list"),
        {"tracking_number": order.tracking_number, "reason": "delay", "description": "x"},
        format="json",
    ).json()["reference"]

    response = agent_client.post(
        reverse("api-complaint-transition", args=[reference]),
        {"action": "resolve"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert "a reply is still owed" in response.json()["detail"]


def test_assign_through_the_api(agent_client):
    order = OrderFactory()
    reference = agent_client.post(
        reverse("api-complaint-list"),
        {"tracking_number": order.tracking_number, "reason": "delay", "description": "x"},
        format="json",
    ).json()["reference"]
    colleague = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT, username="lihua")

    response = agent_client.post(
        reverse("api-complaint-assign", args=[reference]), {"assignee": "lihua"}, format="json"
    )

    assert response.json()["assignee"] == "lihua"
    assert Complaint.objects.get(reference=reference).assignee == colleague


def test_filing_needs_a_parcel_or_a_customer(agent_client):
    response = agent_client.post(reverse("api-complaint-list"), {"reason": "delay", "description": "x"}, format="json")

    assert response.status_code == 400
    assert not Complaint.objects.exists()


def test_incident_manager_cannot_work_complaints_and_anonymous_is_refused(api_client):
    manager = client_with_role(roles.INCIDENT_MANAGER)

    assert manager.get(reverse("api-complaint-list")).status_code == 403
    assert api_client.get(reverse("api-complaint-list")).status_code == 401
