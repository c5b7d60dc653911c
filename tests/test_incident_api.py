from __future__ import annotations

import pytest
from django.urls import reverse

from components.models import ComponentStatus, ServiceComponent
from incidents.models import AffectedOrder, Incident
from tests.factories import OrderFactory, declare_incident

pytestmark = pytest.mark.django_db


def test_declare_list_and_read_an_incident(manager_client):
    component = ServiceComponent.objects.create(name_zh="运单查询")
    body = {
        "category": "information_system",
        "severity": 1,
        "title_zh": "运单查询系统故障",
        "title_en": "Tracking down",
        "components": [{"component": component.pk, "impact": "major_outage"}],
    }

    created = manager_client.post(reverse("api-incident-list"), body, format="json")

    assert created.status_code == 201, created.json()
    incident = created.json()
    assert (incident["status"], incident["category"], incident["components"]) == (
        "reported",
        "information_system",
        [{"component": component.pk, "impact": "major_outage"}],
    )
    assert ServiceComponent.objects.get().status == ComponentStatus.MAJOR_OUTAGE
    listing = manager_client.get(reverse("api-incident-list"), {"status": "reported"}).json()
    assert [row["id"] for row in listing["results"]] == [incident["id"]]
    assert (
        manager_client.get(reverse("api-incident-detail", args=[incident["id"]])).json()["reference"]
        == incident["reference"]
    )


def test_declare_with_an_unknown_category_says_so(manager_client):
    response = manager_client.post(
        reverse("api-incident-list"), {"category": "volcano", "severity": 1, "title_zh": "x"}, format="json"
    )

    assert response.status_code == 400
    assert "category" in response.json()
    assert not Incident.objects.exists()


def test_transition_and_the_loser_of_a_race_gets_409(manager_client):
    incident = declare_incident()
    url = reverse("api-incident-transition", args=[incident.pk])

    first = manager_client.post(url, {"action": "acknowledge"}, format="json")
    second = manager_client.post(url, {"action": "acknowledge"}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert first.status_code == 200
    assert first.json()["status"] == "acknowledged"
    assert second.status_code == 409
    assert "Acknowledged" in second.json()["detail"]


def test_agent_can_read_but_not_transition(agent_client):
    incident = declare_incident()

    assert agent_client.get(reverse("api-incident-detail", args=[incident.pk])).status_code == 200
    response = agent_client.post(
        reverse("api-incident-transition", args=[incident.pk]), {"action": "acknowledge"}, format="json"
    )

    assert response.status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == "reported"


def test_post_update_and_read_the_timeline(manager_client):
    incident = declare_incident()

    response = manager_client.post(
        reverse("api-incident-updates", args=[incident.pk]),
        {"body_zh": "**已定位**故障原因", "visibility": "public"},
        format="json",
    )

    assert response.status_code == 201
    assert "<strong>已定位</strong>" in response.json()["body_zh_html"]
    timeline = manager_client.get(reverse("api-incident-updates", args=[incident.pk])).json()
    assert timeline["count"] == 2


def test_link_by_criteria_preview_then_link(manager_client):
    incident = declare_incident()
    OrderFactory.create_batch(4, hub="上海转运中心")
    OrderFactory.create_batch(2, hub="北京顺义转运中心")
    url = reverse("api-link-criteria", args=[incident.pk])

    preview = manager_client.post(url, {"hubs": ["上海转运中心"], "preview": True}, format="json")
    linked = manager_client.post(url, {"hubs": ["上海转运中心"], "delay_hours": 24}, format="json")

    assert preview.json() == {"matching": 4, "already_linked": 0, "to_link": 4}
    assert linked.json() == {"linked": 4}
    assert AffectedOrder.objects.count() == 4
    listing = manager_client.get(reverse("api-affected-orders", args=[incident.pk])).json()
    assert listing["count"] == 4


def test_link_with_both_delay_and_fixed_estimate_is_refused(manager_client):
    incident = declare_incident()

    response = manager_client.post(
        reverse("api-link-criteria", args=[incident.pk]),
        {"hubs": ["x"], "delay_hours": 2, "new_estimate": "2026-12-01T10:00:00+08:00"},
        format="json",
    )

    assert response.status_code == 400


def test_link_with_no_criteria_is_a_clear_400(manager_client):
    incident = declare_incident()

    response = manager_client.post(
        reverse("api-link-criteria", args=[incident.pk]), {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert "at least one criterion" in response.json()["detail"]


def test_link_tracking_numbers_bad_list_gives_400_with_report_and_links_nothing(manager_client):
    incident = declare_incident()
    known = OrderFactory()

    response = manager_client.post(
        reverse("api-link-tracking-numbers", args=[incident.pk]),
        {"tracking_numbers": [known.tracking_number, "SF0000000000001"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["unknown"] == [[2, "SF0000000000001"]]
    assert not AffectedOrder.objects.exists()


def test_components_and_maintenances_are_listed(manager_client):
    ServiceComponent.objects.create(name_zh="官网")

    assert manager_client.get(reverse("api-components")).json()["count"] == 1
    assert manager_client.get(reverse("api-maintenances")).json()["count"] == 0


def test_anonymous_gets_401(api_client):
    assert api_client.get(reverse("api-incident-list")).status_code == 401
