"""Every admin page opens, and each role sees what it should."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from core import roles
from tests.factories import CustomerFactory, OrderFactory, TrackingEventFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample_rows():
    from datetime import timedelta

    from django.utils import timezone

    from components.models import ComponentGroup, Maintenance, ServiceComponent
    from incidents.criteria import LinkCriteria
    from incidents.linking import incident_link_orders
    from incidents.models import LinkJob
    from incidents.targets import incident_targets_check

    event = TrackingEventFactory()
    group = ComponentGroup.objects.create(name_zh="信息系统")
    component = ServiceComponent.objects.create(name_zh="运单查询", group=group)
    incident = declare_incident(component_impacts={component.pk: "major_outage"})
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=[event.order.hub]), actor=manager)
    incident_targets_check(now=timezone.now() + timedelta(hours=5))
    LinkJob.objects.create(incident=incident, criteria={"criteria": {"hubs": ["x"]}, "reason": "delayed"})
    maintenance = Maintenance.objects.create(
        title_zh="升级", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=1)
    )
    maintenance.components.add(component)
    return {"customer": event.order.customer, "order": event.order, "trackingevent": event, "incident": incident}


def test_every_registered_model_has_working_changelist_add_and_change_pages(admin_client, sample_rows):
    for model, model_admin in admin.site._registry.items():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        assert admin_client.get(reverse(f"admin:{info}_changelist")).status_code == 200, info
        assert admin_client.get(reverse(f"admin:{info}_changelist"), {"q": "SF"}).status_code == 200, info
        expected_add = 200 if model_admin.has_add_permission(_superuser_request()) else 403
        assert admin_client.get(reverse(f"admin:{info}_add")).status_code == expected_add, info
        row = sample_rows.get(model._meta.model_name) or model.objects.first()
        if row is not None:
            assert admin_client.get(reverse(f"admin:{info}_change", args=[row.pk])).status_code == 200, info


def _superuser_request():
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = UserFactory(is_superuser=True)
    return request


def test_order_page_shows_its_tracking_events(admin_client):
    event = TrackingEventFactory(location="杭州萧山转运中心")

    response = admin_client.get(reverse("admin:orders_order_change", args=[event.order.pk]))

    assert "杭州萧山转运中心" in response.content.decode()


def test_agent_finds_a_customer_by_the_number_the_caller_reads_out(client):
    CustomerFactory(name="王芳", phone="+8613800138000")
    CustomerFactory(name="李伟", phone="+8613900139000")
    client.force_login(UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))

    response = client.get(reverse("admin:customers_customer_changelist"), {"q": "138 0013 8000"})

    content = response.content.decode()
    assert "王芳" in content
    assert "李伟" not in content


def test_order_search_by_tracking_number_is_exact(admin_client):
    OrderFactory(tracking_number="SF1111111111111")
    OrderFactory(tracking_number="SF2222222222222")

    response = admin_client.get(reverse("admin:orders_order_changelist"), {"q": "SF1111111111111"})

    content = response.content.decode()
    assert "SF1111111111111" in content
    assert "SF2222222222222" not in content


def test_agent_can_view_orders_but_not_edit_them(client):
    order = OrderFactory()
    client.force_login(UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))

    assert client.get(reverse("admin:orders_order_changelist")).status_code == 200
    response = client.post(reverse("admin:orders_order_change", args=[order.pk]), {"status": "delivered"})

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "in_transit"


def test_staff_without_a_role_sees_no_data(client):
    client.force_login(UserFactory())

    assert client.get(reverse("admin:orders_order_changelist")).status_code == 403
    assert client.get(reverse("admin:customers_customer_changelist")).status_code == 403


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(reverse("admin:orders_order_changelist"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_order_changelist_query_count_does_not_grow_with_rows(admin_client, django_assert_max_num_queries):
    OrderFactory.create_batch(30)

    with django_assert_max_num_queries(8):
        admin_client.get(reverse("admin:orders_order_changelist"))


def test_agent_records_a_phone_opt_out_with_its_time(client):
    customer = CustomerFactory(phone="+8613800138000")
    client.force_login(UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))
    form = {
        "name": customer.name,
        "phone": "138 0013 8000",
        "email": customer.email,
        "language": "zh-hans",
        "email_consent": "on",  # the SMS box is left unticked
        "notifications-TOTAL_FORMS": "0",
        "notifications-INITIAL_FORMS": "0",  # the read-only message history
    }

    response = client.post(reverse("admin:customers_customer_change", args=[customer.pk]), form)

    assert response.status_code == 302, response.content.decode()[:2000]
    customer.refresh_from_db()
    assert (customer.sms_consent, customer.email_consent) == (False, True)
    assert customer.consent_updated_at is not None
    assert customer.phone == "+8613800138000"


def test_agent_cannot_rewrite_a_customers_phone_email_or_name(client):
    customer = CustomerFactory(phone="+8613800138000", email="wang@example.com", name="王芳")
    client.force_login(UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))
    form = {
        "name": "Thief",
        "phone": "+12025550199",  # a valid number: only the permission can stop it
        "email": "thief@example.com",
        "language": "en",
        "sms_consent": "on",
        "email_consent": "on",
        "notifications-TOTAL_FORMS": "0",
        "notifications-INITIAL_FORMS": "0",
    }

    response = client.post(reverse("admin:customers_customer_change", args=[customer.pk]), form)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.email, customer.language) == (
        "王芳",
        "+8613800138000",
        "wang@example.com",
        "zh-hans",
    )


def test_order_search_finds_a_tracking_number_typed_in_lower_case(admin_client):
    OrderFactory(tracking_number="SF3333333333333")

    response = admin_client.get(reverse("admin:orders_order_changelist"), {"q": " sf3333333333333 "})

    assert "SF3333333333333" in response.content.decode()
