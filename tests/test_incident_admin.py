"""The incident desk in the admin, used as an incident manager and an agent would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from components.models import ComponentStatus, ServiceComponent
from core import roles
from incidents.models import AffectedOrder, Incident, IncidentUpdate, UpdateKind
from tests.factories import OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_browser(client):
    client.force_login(UserFactory(role=roles.INCIDENT_MANAGER))
    return client


@pytest.fixture
def agent_browser(client):
    client.force_login(UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))
    return client


def change_url(incident):
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def test_manager_sees_the_transitions_allowed_to_a_manager(manager_browser):
    incident = declare_incident()

    page = manager_browser.get(change_url(incident), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'value="acknowledge"' in page
    assert 'value="resolve"' in page
    assert 'value="close"' not in page
    assert "Post update" in page


def test_agent_sees_the_incident_but_no_buttons_and_cannot_post_a_transition(agent_browser):
    incident = declare_incident()

    page = agent_browser.get(change_url(incident), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    agent_browser.post(reverse("admin:incidents_incident_transition", args=[incident.pk]), {"action": "acknowledge"})

    assert 'value="acknowledge"' not in page
    assert "commanding it needs the incident manager role" in page
    assert Incident.objects.get(pk=incident.pk).status == "reported"


def test_transition_button_moves_the_incident_and_says_so(manager_browser):
    incident = declare_incident()

    response = manager_browser.post(
        reverse("admin:incidents_incident_transition", args=[incident.pk]),
        {"action": "investigate", "body_zh": "正在排查"},
        follow=True,
    )

    assert Incident.objects.get(pk=incident.pk).status == "investigating"
    assert "正在排查" in response.content.decode()


def test_a_refused_transition_is_an_error_message_not_a_crash(manager_browser):
    incident = declare_incident()

    response = manager_browser.post(
        reverse("admin:incidents_incident_transition", args=[incident.pk]),
        {"action": "identify"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "cannot be moved" in response.content.decode()


def test_post_a_public_update_with_a_new_estimate(manager_browser):
    incident = declare_incident()

    manager_browser.post(
        reverse("admin:incidents_incident_post_update", args=[incident.pk]),
        {
            "body_zh": "预计今晚恢复",
            "visibility": "public",
            "notify_customers": "on",
            "estimated_recovery_at": "2026-12-01T20:00",
        },
    )

    update = IncidentUpdate.objects.filter(incident=incident).order_by("-id").first()
    assert (update.kind, update.visibility, update.notify_customers) == (UpdateKind.ESTIMATE, "public", True)
    assert Incident.objects.get(pk=incident.pk).estimated_recovery_at is not None


def test_preview_then_link_by_criteria(manager_browser):
    incident = declare_incident()
    OrderFactory.create_batch(3, hub="上海转运中心")
    url = reverse("admin:incidents_incident_link_criteria", args=[incident.pk])

    preview = manager_browser.post(
        url, {"hubs": ["上海转运中心"], "reason": "delayed", "preview": "1"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "3 orders match; 0 are already linked; 3 would be added." in preview.content.decode()
    assert not AffectedOrder.objects.exists()

    manager_browser.post(url, {"hubs": ["上海转运中心"], "reason": "delayed", "delay_hours": "24", "link": "1"})

    assert AffectedOrder.objects.filter(incident=incident).count() == 3


def test_uploaded_csv_with_an_unknown_number_links_nothing_and_shows_the_line(manager_browser):
    incident = declare_incident()
    known = OrderFactory()
    upload = SimpleUploadedFile(
        "list.csv", f"tracking_number\n{known.tracking_number}\nSF0000000000777\n".encode(), content_type="text/csv"
    )

    response = manager_browser.post(
        reverse("admin:incidents_incident_link_list", args=[incident.pk]),
        {"reason": "delayed", "upload": upload},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    page = response.content.decode()
    assert "Nothing was linked" in page
    assert "SF0000000000777" in page
    assert "line 3" in page
    assert not AffectedOrder.objects.exists()


def test_declaring_from_the_admin_goes_through_the_service(manager_browser):
    component = ServiceComponent.objects.create(name_zh="在线下单")
    form = {
        "category": Incident._meta.get_field("category").related_model.objects.get(code="equipment").pk,
        "severity": "2",
        "title_zh": "上海转运中心分拣线停机",
        "impact_started_at_0": "2026-11-22",
        "impact_started_at_1": "08:00:00",
        "component_impacts-TOTAL_FORMS": "1",
        "component_impacts-INITIAL_FORMS": "0",
        "component_impacts-MIN_NUM_FORMS": "0",
        "component_impacts-MAX_NUM_FORMS": "1000",
        "component_impacts-0-component": str(component.pk),
        "component_impacts-0-impact": "partial_outage",
        "compensation_rules-TOTAL_FORMS": "0",
        "compensation_rules-INITIAL_FORMS": "0",
    }

    response = manager_browser.post(reverse("admin:incidents_incident_add"), form)

    assert response.status_code == 302, [
        response.context["adminform"].form.errors,
        [f.formset.errors for f in response.context["inline_admin_formsets"]],
        [f.formset.non_form_errors() for f in response.context["inline_admin_formsets"]],
    ]
    incident = Incident.objects.get()
    assert incident.updates.filter(kind=UpdateKind.DECLARED).exists()
    assert incident.recovery_due_at - incident.reported_at == incident.category.recovery_target
    assert ServiceComponent.objects.get(pk=component.pk).status == ComponentStatus.PARTIAL_OUTAGE


def test_an_update_can_be_sent_by_sms_too(manager_browser):
    from notifications.models import Notification

    incident = declare_incident()
    order = OrderFactory(hub="厦门转运中心")
    from incidents.criteria import LinkCriteria
    from incidents.linking import incident_link_orders

    incident_link_orders(
        incident=incident,
        criteria=LinkCriteria(hubs=["厦门转运中心"]),
        actor=UserFactory(role=roles.INCIDENT_MANAGER),
        notify=False,
    )

    manager_browser.post(
        reverse("admin:incidents_incident_post_update", args=[incident.pk]),
        {"body_zh": "请留意短信", "visibility": "public", "notify_customers": "on", "sms": "yes"},
    )

    update = IncidentUpdate.objects.filter(incident=incident).order_by("-id").first()
    assert (update.notify_sms, update.notify_email) == (True, True)
    assert set(Notification.objects.filter(incident_update=update).values_list("channel", flat=True)) == {
        "sms",
        "email",
    }
    assert order.customer_id in set(Notification.objects.values_list("customer_id", flat=True))


def test_compensation_panel_previews_and_issues(manager_browser):
    from decimal import Decimal

    from compensation.models import CompensationRule

    incident = declare_incident()
    OrderFactory.create_batch(2, hub="苏州转运中心")
    from incidents.criteria import Estimate, LinkCriteria
    from incidents.linking import incident_link_orders

    incident_link_orders(
        incident=incident,
        criteria=LinkCriteria(hubs=["苏州转运中心"]),
        estimate=Estimate(delay=timedelta(hours=30)),
        actor=UserFactory(role=roles.INCIDENT_MANAGER),
        notify=False,
    )
    CompensationRule.objects.create(incident=incident, min_delay=timedelta(hours=24), value=Decimal("5"))

    page = manager_browser.get(change_url(incident), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Still to issue: 2 orders, ¥10.00." in page

    manager_browser.post(reverse("admin:incidents_incident_compensate", args=[incident.pk]))

    assert incident.compensation_requests.get().status == "approved"
