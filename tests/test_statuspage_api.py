"""/api/v2/: the same field names, value sets and nesting as Atlassian Statuspage's public API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from components.models import ComponentGroup, ComponentStatus, Maintenance, ServiceComponent
from components.services import maintenances_advance
from core import roles
from incidents.models import Severity
from incidents.services import incident_post_update, incident_transition
from tests.factories import UserFactory, declare_incident

pytestmark = pytest.mark.django_db

PAGE_FIELDS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_FIELDS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
INCIDENT_FIELDS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}
UPDATE_FIELDS = {
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
}
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
IMPACTS = {"none", "minor", "major", "critical", "maintenance"}


@pytest.fixture
def page_state():
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    group = ComponentGroup.objects.create(name_zh="转运网络", name_en="Hub network")
    hub = ServiceComponent.objects.create(name_zh="广州白云转运中心", name_en="Guangzhou hub", group=group)
    tracking = ServiceComponent.objects.create(name_zh="运单查询", name_en="Parcel tracking", description_en="Lookup")
    open_incident = declare_incident(
        actor=manager,
        title_en="Hub stopped",
        severity=Severity.MAJOR,
        component_impacts={hub.pk: ComponentStatus.PARTIAL_OUTAGE},
    )
    incident_post_update(incident_id=open_incident.pk, actor=manager, body_zh="抢修中", body_en="Repairing")
    resolved = declare_incident(actor=manager, title_en="Old outage")
    incident_transition(incident_id=resolved.pk, action="resolve", actor=manager)
    now = timezone.now()
    upcoming = Maintenance.objects.create(
        title_zh="升级", title_en="Upgrade", starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=1)
    )
    upcoming.components.add(tracking)
    active = Maintenance.objects.create(
        title_zh="线路维护",
        title_en="Line work",
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    active.components.add(tracking)
    maintenances_advance()
    return {"hub": hub, "tracking": tracking, "open": open_incident, "resolved": resolved, "group": group}


def _get(client, path):
    response = client.get(f"/api/v2/{path}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    return response.json()


def test_summary_has_statuspage_shape_and_values(client, page_state):
    summary = _get(client, "summary.json")

    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert set(summary["page"]) == PAGE_FIELDS
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    for component in summary["components"]:
        assert set(component) >= COMPONENT_FIELDS
        assert component["status"] in COMPONENT_STATUSES
    by_name = {c["name"]: c for c in summary["components"]}
    group = by_name["Hub network"]
    assert group["group"] is True
    assert group["components"] == [str(page_state["hub"].pk)]
    assert by_name["Guangzhou hub"]["group_id"] == group["id"]
    assert by_name["Guangzhou hub"]["status"] == "partial_outage"
    assert by_name["Parcel tracking"]["status"] == "under_maintenance"
    assert by_name["Parcel tracking"]["description"] == "Lookup"
    assert [i["name"] for i in summary["incidents"]] == ["Hub stopped"]  # unresolved only
    incident = summary["incidents"][0]
    assert set(incident) == INCIDENT_FIELDS
    assert incident["status"] in INCIDENT_STATUSES
    assert incident["impact"] == "major"
    assert incident["shortlink"].endswith(f"/incidents/{page_state['open'].pk}/")
    assert [c["name"] for c in incident["components"]] == ["Guangzhou hub"]
    assert incident["incident_updates"][0]["body"] == "Repairing"
    for update in incident["incident_updates"]:
        assert set(update) == UPDATE_FIELDS
        assert update["status"] in INCIDENT_STATUSES
    assert [m["name"] for m in summary["scheduled_maintenances"]] == ["Line work", "Upgrade"]


def test_status_and_components_endpoints(client, page_state):
    status = _get(client, "status.json")
    components = _get(client, "components.json")

    assert set(status) == {"page", "status"}
    assert status["status"]["indicator"] in {"none", "minor", "major", "critical"}
    assert set(components) == {"page", "components"}
    assert len(components["components"]) == 3  # one group, two components


def test_incident_lists(client, page_state):
    everything = _get(client, "incidents.json")["incidents"]
    unresolved = _get(client, "incidents/unresolved.json")["incidents"]

    assert {i["name"] for i in everything} == {"Hub stopped", "Old outage"}
    assert {i["status"] for i in everything} == {"investigating", "resolved"}
    assert all(i["impact"] in IMPACTS for i in everything)
    assert [i["name"] for i in unresolved] == ["Hub stopped"]
    old = next(i for i in everything if i["name"] == "Old outage")
    assert old["resolved_at"] is not None


def test_maintenance_lists(client, page_state):
    every = _get(client, "scheduled-maintenances.json")["scheduled_maintenances"]
    upcoming = _get(client, "scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    active = _get(client, "scheduled-maintenances/active.json")["scheduled_maintenances"]

    assert [m["name"] for m in upcoming] == ["Upgrade"]
    assert [m["name"] for m in active] == ["Line work"]
    assert {m["name"] for m in every} == {"Upgrade", "Line work"}
    for maintenance in every:
        assert maintenance["status"] in MAINTENANCE_STATUSES
        assert maintenance["impact"] == "maintenance"
        assert maintenance["scheduled_for"] < maintenance["scheduled_until"]
        assert [c["name"] for c in maintenance["components"]] == ["Parcel tracking"]


def test_a_critical_open_incident_makes_the_indicator_critical(client):
    declare_incident(severity=Severity.CRITICAL)

    assert _get(client, "status.json")["status"]["indicator"] == "critical"


def test_all_quiet_is_none_and_names_follow_the_language(client):
    ServiceComponent.objects.create(name_zh="运单查询", name_en="Parcel tracking")

    english = _get(client, "status.json")
    chinese = client.get("/api/v2/components.json", HTTP_ACCEPT_LANGUAGE="zh-hans").json()

    assert english["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert chinese["components"][0]["name"] == "运单查询"


def test_unknown_documents_are_404_and_writes_are_refused(client):
    assert client.get("/api/v2/pages.json").status_code == 404
    assert client.post("/api/v2/summary.json").status_code == 405
