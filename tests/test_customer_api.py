from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def url(external_id: str) -> str:
    return reverse("api-customer-detail", args=[external_id])


def test_put_creates_a_customer_then_updates_it(integration_client):
    body = {"name": "王芳", "phone": "+86 138 0013 8000", "email": "wang@example.com", "language": "en"}

    created = integration_client.put(url("C-7"), body, format="json")
    updated = integration_client.put(url("C-7"), {**body, "name": "王芳芳"}, format="json")

    assert created.status_code == 201
    assert updated.status_code == 200
    customer = Customer.objects.get(external_id="C-7")
    assert (customer.name, customer.phone, customer.language) == ("王芳芳", "+8613800138000", "en")
    assert Customer.objects.count() == 1


def test_put_keeps_consent(integration_client):
    CustomerFactory(external_id="C-7", sms_consent=False)

    integration_client.put(url("C-7"), {"name": "王芳", "phone": "13800138000"}, format="json")

    assert Customer.objects.get(external_id="C-7").sms_consent is False


def test_put_with_invalid_phone_says_why_and_writes_nothing(integration_client):
    response = integration_client.put(url("C-7"), {"name": "王芳", "phone": "555"}, format="json")

    assert response.status_code == 400
    assert "phone" in response.json()
    assert not Customer.objects.exists()


def test_put_with_a_list_body_is_a_clear_error(integration_client):
    response = integration_client.put(url("C-7"), [1, 2], format="json")

    assert response.status_code == 400
    assert not Customer.objects.exists()


def test_agent_may_read_but_not_write(agent_client):
    CustomerFactory(external_id="C-7")

    assert agent_client.get(url("C-7")).status_code == 200
    assert agent_client.put(url("C-7"), {"name": "x", "phone": "13800138000"}, format="json").status_code == 403


def test_unknown_customer_is_404(agent_client):
    assert agent_client.get(url("nobody")).status_code == 404


def test_a_demo_customer_read_from_the_api_can_be_put_back_unchanged(integration_client):
    call_command("seed_demo", stdout=StringIO())
    customer = Customer.objects.order_by("external_id").first()
    read = integration_client.get(url(customer.external_id)).json()

    written = integration_client.put(url(customer.external_id), read, format="json")

    assert written.status_code == 200, written.json()
    again = integration_client.get(url(customer.external_id)).json()
    assert {**again, "updated_at": None} == {**read, "updated_at": None}
