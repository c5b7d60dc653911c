from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from orders.models import Order, TrackingEvent
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db
URL = reverse("api-order-batch")


def order_row(number: int, *, customer: str = "C-1", events: int = 1) -> dict:
    promised = timezone.now() + timedelta(days=2)
    return {
        "tracking_number": f"SF{1_000_000_000_000 + number:013d}",
        "customer": {"external_id": customer, "name": "王芳", "phone": "13800138000", "email": "wang@example.com"},
        "origin_city": "上海",
        "destination_city": "北京",
        "hub": "上海转运中心",
        "status": "in_transit",
        "promised_delivery": promised.isoformat(),
        "events": [
            {
                "occurred_at": (timezone.now() - timedelta(hours=i)).replace(microsecond=0).isoformat(),
                "location": "上海转运中心",
                "status": "at_hub",
            }
            for i in range(events)
        ],
    }


def test_batch_creates_orders_customers_and_events(integration_client):
    # given a batch of three orders of two customers
    batch = {"orders": [order_row(1, events=2), order_row(2), order_row(3, customer="C-2")]}

    # when the order system posts it
    response = integration_client.post(URL, batch, format="json")

    # then every row is stored, the phone in E.164
    assert response.status_code == 200, response.json()
    assert response.json() == {"orders_created": 3, "orders_updated": 0, "customers": 2, "events_added": 4}
    assert Order.objects.count() == 3
    assert Customer.objects.get(external_id="C-1").phone == "+8613800138000"
    assert TrackingEvent.objects.filter(order__tracking_number="SF1000000000001").count() == 2


def test_same_batch_twice_changes_nothing_the_second_time(integration_client):
    batch = {"orders": [order_row(1, events=2), order_row(2)]}
    integration_client.post(URL, batch, format="json")
    before = list(
        Order.objects.order_by("id").values("id", "tracking_number", "customer_id", "status", "promised_delivery")
    )

    response = integration_client.post(URL, batch, format="json")

    assert response.json() == {"orders_created": 0, "orders_updated": 2, "customers": 1, "events_added": 0}
    assert (
        list(Order.objects.order_by("id").values("id", "tracking_number", "customer_id", "status", "promised_delivery"))
        == before
    )
    assert TrackingEvent.objects.count() == 3


def test_update_changes_status_but_keeps_an_estimate_the_row_does_not_carry(integration_client):
    existing = OrderFactory(tracking_number="SF1000000000001", current_estimate=timezone.now() + timedelta(days=5))
    row = order_row(1)
    row["status"] = "at_hub"

    integration_client.post(URL, {"orders": [row]}, format="json")

    existing.refresh_from_db()
    assert existing.status == "at_hub"
    assert existing.current_estimate is not None


def test_tracking_number_is_normalised_to_capitals(integration_client):
    row = order_row(1)
    row["tracking_number"] = " sf1000000000001 "

    integration_client.post(URL, {"orders": [row]}, format="json")

    assert Order.objects.filter(tracking_number="SF1000000000001").exists()


def test_batch_with_bad_rows_is_rejected_whole_with_a_report_per_row(integration_client):
    # given an existing order and a batch mixing good and bad rows
    existing = OrderFactory(tracking_number="SF1000000000009", hub="北京顺义转运中心")
    good = order_row(1)
    bad_phone = order_row(2)
    bad_phone["customer"] = {**bad_phone["customer"], "external_id": "C-9", "phone": "12345"}
    bad_status = order_row(3)
    bad_status["status"] = "teleported"
    duplicate = copy.deepcopy(good)
    conflicting_customer = order_row(4)
    conflicting_customer["customer"] = {**conflicting_customer["customer"], "name": "李伟"}
    update_of_existing = order_row(9)
    batch = {"orders": [good, bad_phone, bad_status, duplicate, conflicting_customer, update_of_existing]}

    # when it is posted by a client that reads English
    response = integration_client.post(URL, batch, format="json", HTTP_ACCEPT_LANGUAGE="en")

    # then the answer lists each bad row and why, and nothing was written
    assert response.status_code == 400
    body = response.json()
    assert "nothing was applied" in body["detail"]
    by_row = {error["row"]: error for error in body["errors"]}
    assert sorted(by_row) == [1, 2, 3, 4]
    assert "phone" in by_row[1]["errors"]["customer"]
    assert "status" in by_row[2]["errors"]
    assert "Duplicate of row 0" in by_row[3]["errors"]["tracking_number"][0]
    assert "differs from row 0" in by_row[4]["errors"]["customer"][0]
    assert by_row[2]["tracking_number"] == "SF1000000000003"
    assert Order.objects.count() == 1
    assert Customer.objects.count() == 1
    existing.refresh_from_db()
    assert existing.hub == "北京顺义转运中心"


def test_row_that_is_not_an_object_is_reported(integration_client):
    response = integration_client.post(URL, {"orders": [order_row(1), "SF1"]}, format="json")

    assert response.status_code == 400
    assert [error["row"] for error in response.json()["errors"]] == [1]
    assert Order.objects.count() == 0


@override_settings(ORDER_INGEST_MAX_BATCH=2)
def test_batch_over_the_limit_is_refused_in_the_default_language_chinese(integration_client):
    response = integration_client.post(URL, {"orders": [order_row(i) for i in range(3)]}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "每批最多 2 个订单,本批有 3 个。"
    assert Order.objects.count() == 0


def test_upsert_keeps_a_customers_opt_out(integration_client):
    CustomerFactory(external_id="C-1", sms_consent=False, email_consent=False)

    integration_client.post(URL, {"orders": [order_row(1)]}, format="json")

    customer = Customer.objects.get(external_id="C-1")
    assert (customer.sms_consent, customer.email_consent) == (False, False)
    assert customer.name == "王芳"


def test_anonymous_caller_is_refused(api_client):
    response = api_client.post(URL, {"orders": [order_row(1)]}, format="json")

    assert response.status_code == 401
    assert Order.objects.count() == 0


def test_agent_without_ingest_permission_is_refused(agent_client):
    response = agent_client.post(URL, {"orders": [order_row(1)]}, format="json")

    assert response.status_code == 403
    assert Order.objects.count() == 0


def test_order_detail_shows_events(integration_client):
    integration_client.post(URL, {"orders": [order_row(1, events=2)]}, format="json")

    response = integration_client.get(reverse("api-order-detail", args=["sf1000000000001"]))

    assert response.status_code == 200
    assert response.json()["customer"] == "C-1"
    assert len(response.json()["events"]) == 2


def test_order_list_is_paginated(integration_client):
    OrderFactory.create_batch(3)

    response = integration_client.get(reverse("api-order-list"))

    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == 3


def test_an_order_carries_its_merchant_and_a_push_without_one_keeps_it(integration_client):
    from orders.models import Merchant

    with_merchant = {**order_row(1), "merchant": {"code": "SHOP-1", "name": "一号店"}}
    renamed = {**order_row(2), "merchant": {"code": "SHOP-1", "name": "一号店(旗舰)"}}

    first = integration_client.post(URL, {"orders": [with_merchant, renamed]}, format="json")
    again = integration_client.post(URL, {"orders": [order_row(1)]}, format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    shop = Merchant.objects.get(code="SHOP-1")
    assert shop.name == "一号店(旗舰)"
    assert set(Order.objects.values_list("merchant_id", flat=True)) == {shop.pk}


def test_a_malformed_merchant_is_reported_on_its_row(integration_client):
    row = {**order_row(1), "merchant": {"code": "has spaces", "name": ""}}

    response = integration_client.post(URL, {"orders": [row]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"][0]["errors"]["merchant"]) == {"code", "name"}
    assert not Order.objects.exists()
