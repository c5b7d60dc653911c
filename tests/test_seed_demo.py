from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings

from complaints.models import Complaint
from customers.models import Customer
from customers.phones import normalize_phone
from incidents.models import AffectedOrder, Incident
from orders.models import Order, TrackingEvent

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    return (
        list(
            Order.objects.order_by("tracking_number").values_list(
                "tracking_number", "customer__external_id", "status", "promised_delivery", "hub"
            )
        ),
        Customer.objects.count(),
        TrackingEvent.objects.count(),
        sorted(get_user_model().objects.values_list("username", flat=True)),
        list(Incident.objects.order_by("id").values_list("title_zh", "status")),
        AffectedOrder.objects.count(),
        sorted(Complaint.objects.values_list("reason", flat=True)),
    )


def test_seed_demo_twice_changes_nothing_the_second_time():
    first_output = StringIO()
    call_command("seed_demo", stdout=first_output)
    first = snapshot()

    second_output = StringIO()
    call_command("seed_demo", stdout=second_output)

    assert snapshot() == first
    assert len(first[0]) == 400
    assert all(tracking_number.startswith("SF") and len(tracking_number) == 15 for tracking_number, *_ in first[0])
    assert "0 orders and 0 tracking events created, 400 already there" in second_output.getvalue()


def test_seed_demo_gives_one_user_per_role_and_an_api_token():
    output = StringIO()
    call_command("seed_demo", stdout=output)

    users = {user.username: user for user in get_user_model().objects.prefetch_related("groups")}
    assert [group.name for group in users["agent"].groups.all()] == ["Customer service agent"]
    assert [group.name for group in users["manager"].groups.all()] == ["Incident manager"]
    assert [group.name for group in users["supervisor"].groups.all()] == ["Supervisor"]
    assert users["admin"].is_superuser
    assert users["agent"].check_password("parcel-demo-2026")
    assert "API token of the order system" in output.getvalue()
    assert [group.name for group in users["monitoring"].groups.all()] == ["Monitoring (alert source)"]
    assert "API token of the monitoring" in output.getvalue()


def test_demo_phone_numbers_are_fictional_and_pass_the_products_validation():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", orders=300, prefix="JD", stdout=StringIO())

    phones = set(Customer.objects.values_list("phone", flat=True))
    assert len(phones) >= 100
    assert all(re.fullmatch(r"\+1\d{3}55501\d\d", phone) for phone in phones)  # NANPA's range for fiction
    assert all(normalize_phone(phone) == phone for phone in phones)


def test_scale_mode_inserts_the_rows_and_a_rerun_adds_none():
    output = StringIO()
    call_command("seed_demo", orders=3000, prefix="JD", stdout=output)
    call_command("seed_demo", orders=3000, prefix="JD", stdout=output)

    assert Order.objects.filter(tracking_number__startswith="JD").count() == 3000
    assert Customer.objects.filter(external_id__startswith="JDC").count() == 1000
    assert "3000 orders and 1000 customers created" in output.getvalue()
    assert "0 orders and 0 customers created" in output.getvalue()
    assert "orders/s" in output.getvalue()


def test_scale_mode_refuses_a_bad_prefix():
    with pytest.raises(CommandError, match="--prefix"):
        call_command("seed_demo", orders=10, prefix="jd!", stdout=StringIO())


@override_settings(IS_PRODUCTION=True)
def test_seed_demo_refuses_production():
    with pytest.raises(CommandError, match="refuses to run in production"):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.exists()


def test_seed_demo_has_an_open_incident_with_affected_parcels():
    call_command("seed_demo", stdout=StringIO())

    open_incident = Incident.objects.get(status="investigating")
    assert open_incident.affected_orders.count() > 0
    assert all(
        link.new_estimate - link.original_promise == timedelta(hours=48) for link in open_incident.affected_orders.all()
    )
