"""Monitoring in: Alertmanager's and Grafana's real payloads move component status and open incidents."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from components.models import ComponentStatus, ComponentStatusChange, Maintenance, MaintenanceState
from components.services import maintenance_complete, maintenances_advance
from core import roles
from core.models import ApiToken
from core.services import api_token_issue
from incidents.models import Incident, IncidentStatus, IncidentUpdate, UpdateKind, Visibility
from monitoring.models import Alert, AlertReceipt, AlertSource, AlertStatus, Outcome, RuleAction
from monitoring.services import Delivery, IncomingAlert, alerts_receive
from notifications.models import ChatDestination, EventType, Notification
from tests.concurrency import run_together
from tests.factories import AlertRuleFactory, ServiceComponentFactory, UserFactory, declare_incident
from tests.monitoring import ALERTMANAGER_URL, GENERIC_URL, GRAFANA_URL, fixture_body, fixture_json, post_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def tracking_api():
    """The component Alertmanager's captured alerts are about (component="tracking-api")."""
    return ServiceComponentFactory(name_zh="运单查询接口", name_en="Tracking API")


def _component_status(client: APIClient, component) -> str:
    document = client.get("/api/v2/components.json").json()
    return next(item["status"] for item in document["components"] if item["id"] == str(component.pk))


# --- Alertmanager ------------------------------------------------------------------------------


def test_alertmanager_firing_sets_the_worst_severity_and_opens_one_internal_draft(monitoring_client, tracking_api):
    # given a rule for the component Alertmanager's captured alerts name (one critical, one warning)
    AlertRuleFactory(component=tracking_api)

    # when Alertmanager posts its notification
    response = post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    # then the component is in a major outage (critical wins over warning), for the public at once
    assert response.status_code == 200, response.content
    assert response.json()["applied"] == 2 and response.json()["ignored"] == 0
    tracking_api.refresh_from_db()
    assert tracking_api.status == ComponentStatus.MAJOR_OUTAGE
    assert _component_status(APIClient(), tracking_api) == "major_outage"
    # and one internal draft incident holds both alerts, for a person to publish
    incident = Incident.objects.get()
    assert incident.published_at is None and incident.status == IncidentStatus.REPORTED
    assert list(incident.component_impacts.values_list("component_id", "impact")) == [
        (tracking_api.pk, ComponentStatus.MAJOR_OUTAGE)
    ]
    assert set(Alert.objects.values_list("incident_id", flat=True)) == {incident.pk}
    assert {row["incident"] for row in response.json()["alerts"]} == {incident.pk}
    assert "TrackingApiDown" in incident.description and "Tracking API is not answering" in incident.description
    assert incident.title_en == "Tracking API: Major outage"
    # and the internal draft is nowhere public
    assert "Tracking API" not in APIClient().get("/api/v2/incidents.json").content.decode()


def test_an_incident_alerts_open_is_told_to_managers_supervisors_and_their_chats_once(monitoring_client, tracking_api):
    # given staff with email addresses, and a chat taking the managers' alerts
    manager = UserFactory(role=roles.INCIDENT_MANAGER, email="manager@example.com")
    supervisor = UserFactory(role=roles.SUPERVISOR, email="supervisor@example.com")
    UserFactory(role=roles.CUSTOMER_SERVICE_AGENT, email="agent@example.com")
    chat = ChatDestination.objects.create(name="值班群", apprise_url="json://127.0.0.1:9/")
    chat.roles.add(Group.objects.get(name=roles.INCIDENT_MANAGER))
    AlertRuleFactory(component=tracking_api)

    # when Alertmanager's notification opens a draft, and comes again
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    # then each of them has one message through the outbox, naming the draft
    told = Notification.objects.filter(event_type=EventType.STAFF_ALERT)
    assert sorted(told.exclude(staff_user=None).values_list("staff_user_id", flat=True)) == [manager.pk, supervisor.pk]
    assert told.filter(chat_destination=chat).count() == 1
    incident = Incident.objects.get()
    assert all(incident.reference in message.subject and "内部草稿" in message.subject for message in told)


def test_a_repeated_firing_alert_changes_nothing(monitoring_client, tracking_api):
    AlertRuleFactory(component=tracking_api)
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))
    changes, timeline = ComponentStatusChange.objects.count(), IncidentUpdate.objects.count()

    again = post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    assert again.status_code == 200
    assert [row["outcome"] for row in again.json()["alerts"]] == [Outcome.UNCHANGED, Outcome.UNCHANGED]
    assert Incident.objects.count() == 1
    assert ComponentStatusChange.objects.count() == changes
    assert IncidentUpdate.objects.count() == timeline
    assert AlertReceipt.objects.count() == 4  # every delivery is on record


def test_a_repeated_delivery_costs_the_same_queries_for_two_alerts_or_two_hundred(
    monitoring_client, tracking_api, django_assert_max_num_queries
):
    # given a group of 200 firing alerts for one component, delivered once already
    AlertRuleFactory(component=tracking_api)
    payload = fixture_json("alertmanager/firing.json")
    template = payload["alerts"][0]
    group = dict(
        payload,
        alerts=[
            dict(template, fingerprint=f"f{index:03d}", labels=template["labels"] | {"instance": f"api-{index}"})
            for index in range(200)
        ],
    )
    post_body(monitoring_client, ALERTMANAGER_URL, group)

    # when Alertmanager re-sends the group (its repeat_interval), then the answer is a fixed number of queries
    with django_assert_max_num_queries(14):
        again = post_body(monitoring_client, ALERTMANAGER_URL, group)

    assert again.status_code == 200 and again.json()["unchanged"] == 200


def test_resolved_puts_the_component_back_and_suggests_resolving_without_resolving(monitoring_client, tracking_api):
    AlertRuleFactory(component=tracking_api)
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    response = post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/resolved.json"))

    assert response.status_code == 200
    tracking_api.refresh_from_db()
    assert tracking_api.status == ComponentStatus.OPERATIONAL
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.REPORTED  # a person resolves it
    note = incident.updates.get(kind=UpdateKind.ALERT)
    assert note.visibility == Visibility.INTERNAL
    assert "TrackingApiDown" in note.body_en and "Resolve this incident once you have confirmed" in note.body_en
    assert not incident.updates.filter(visibility=Visibility.PUBLIC).exists()


def test_a_late_firing_copy_after_the_resolution_changes_nothing(monitoring_client, tracking_api):
    # given an alert that fired and was resolved
    AlertRuleFactory(component=tracking_api)
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/resolved.json"))

    # when the firing notice of the same episode arrives late (another Alertmanager peer, a retry)
    late = post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    assert [row["outcome"] for row in late.json()["alerts"]] == [Outcome.UNCHANGED, Outcome.UNCHANGED]
    tracking_api.refresh_from_db()
    assert tracking_api.status == ComponentStatus.OPERATIONAL


def test_alerts_of_one_component_in_two_deliveries_make_one_incident(monitoring_client, tracking_api):
    AlertRuleFactory(component=tracking_api)
    payload = fixture_json("alertmanager/firing.json")
    first, second = dict(payload, alerts=payload["alerts"][:1]), dict(payload, alerts=payload["alerts"][1:])

    post_body(monitoring_client, ALERTMANAGER_URL, first)
    post_body(monitoring_client, ALERTMANAGER_URL, second)

    incident = Incident.objects.get()
    assert Alert.objects.filter(incident=incident).count() == 2
    note = incident.updates.get(kind=UpdateKind.ALERT)
    assert "TrackingApiHighLatency" in note.body_en and note.visibility == Visibility.INTERNAL


def test_an_alert_joins_the_open_incident_a_person_runs_and_never_resolves_it(monitoring_client, tracking_api):
    # given a public incident a manager declared on the component, and a rule for it
    incident = declare_incident(component_impacts={tracking_api.pk: ComponentStatus.PARTIAL_OUTAGE})
    AlertRuleFactory(component=tracking_api)

    # when its alerts fire and resolve
    firing = post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))
    tracking_api.refresh_from_db()
    status_while_firing = tracking_api.status
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/resolved.json"))

    # then they joined the person's incident, which stays open and keeps the component as it says
    assert {row["incident"] for row in firing.json()["alerts"]} == {incident.pk}
    assert Incident.objects.count() == 1
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.REPORTED
    assert incident.updates.filter(kind=UpdateKind.ALERT, visibility=Visibility.INTERNAL).count() == 2
    assert status_while_firing == ComponentStatus.MAJOR_OUTAGE
    tracking_api.refresh_from_db()
    assert tracking_api.status == ComponentStatus.PARTIAL_OUTAGE


def test_a_rule_a_supervisor_marked_declares_a_public_incident(monitoring_client, tracking_api, client):
    AlertRuleFactory(component=tracking_api, action=RuleAction.DECLARE)

    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    incident = Incident.objects.get()
    assert incident.published_at is not None
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Tracking API: Major outage" in page
    assert "TrackingApiDown" not in page  # what monitoring wrote stays internal


def test_a_status_only_rule_opens_no_incident(monitoring_client, tracking_api):
    AlertRuleFactory(component=tracking_api, action=RuleAction.STATUS)

    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    tracking_api.refresh_from_db()
    assert tracking_api.status == ComponentStatus.MAJOR_OUTAGE
    assert not Incident.objects.exists()


def test_maintenance_silences_monitoring_until_it_is_completed(monitoring_client, tracking_api):
    # given maintenance in progress on the component
    now = timezone.now()
    maintenance = Maintenance.objects.create(
        title_zh="升级", starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1)
    )
    maintenance.components.add(tracking_api)
    maintenances_advance()
    AlertRuleFactory(component=tracking_api, action=RuleAction.STATUS)

    # when its expected alerts fire
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    # then the page says maintenance; once the work is done, the alerts that still fire count
    tracking_api.refresh_from_db()
    assert tracking_api.status == ComponentStatus.UNDER_MAINTENANCE
    maintenance.refresh_from_db()
    assert maintenance.state == MaintenanceState.IN_PROGRESS
    maintenance_complete(maintenance=maintenance)
    tracking_api.refresh_from_db()
    assert tracking_api.status == ComponentStatus.MAJOR_OUTAGE


# --- Grafana and the generic shape -------------------------------------------------------------


def test_grafana_documented_payload_moves_its_component_and_names_what_it_ignored(monitoring_client):
    # given a rule for zone us-1 only (the documentation's alerts carry no severity label)
    zone = ServiceComponentFactory(name_en="US-1 web")
    AlertRuleFactory(component=zone, matchers='team="blue", zone="us-1"', action=RuleAction.STATUS)

    response = post_body(monitoring_client, GRAFANA_URL, fixture_body("grafana/firing.json"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 202
    body = response.json()
    assert (body["received"], body["applied"], body["ignored"]) == (2, 1, 1)
    ignored = next(row for row in body["alerts"] if row["outcome"] == Outcome.IGNORED)
    assert ignored["fingerprint"] == "bc97ff14869b13e3" and "no alert rule matches" in ignored["detail"]
    zone.refresh_from_db()
    assert zone.status == ComponentStatus.DEGRADED_PERFORMANCE
    assert Alert.objects.get(fingerprint="c6eadffa33fcdf37").source == AlertSource.GRAFANA


def test_an_unknown_component_is_recorded_and_answered_202_naming_it(monitoring_client, tracking_api):
    AlertRuleFactory(component=tracking_api)
    alert = {"status": "firing", "labels": {"alertname": "DiskFull", "component": "label-printer"}}

    response = post_body(monitoring_client, GENERIC_URL, {"alerts": [alert]}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 202
    assert response.json()["alerts"][0]["detail"] == 'no alert rule matches its labels (component="label-printer")'
    receipt = AlertReceipt.objects.get()
    assert (receipt.outcome, receipt.alert.labels["component"]) == (Outcome.IGNORED, "label-printer")
    tracking_api.refresh_from_db()
    assert tracking_api.status == ComponentStatus.OPERATIONAL
    assert not Incident.objects.exists()


def test_generic_alerts_fire_and_resolve_by_their_labels(monitoring_client, tracking_api):
    AlertRuleFactory(component=tracking_api, action=RuleAction.STATUS)
    labels = {"component": "tracking-api", "severity": "error", "check": "http"}

    fired = post_body(monitoring_client, GENERIC_URL, {"alerts": [{"status": "firing", "labels": labels}]})
    tracking_api.refresh_from_db()
    status_while_firing = tracking_api.status
    resolved = post_body(monitoring_client, GENERIC_URL, {"alerts": [{"status": "resolved", "labels": labels}]})

    assert (fired.status_code, resolved.status_code) == (200, 200)
    assert status_while_firing == ComponentStatus.PARTIAL_OUTAGE
    tracking_api.refresh_from_db()
    assert tracking_api.status == ComponentStatus.OPERATIONAL
    assert Alert.objects.get().status == AlertStatus.RESOLVED


# --- bad payloads, limits and who may post -----------------------------------------------------


def _alertmanager(**changes) -> dict:
    return {**fixture_json("alertmanager/firing.json"), **changes}


def _first_alert(**changes) -> dict:
    payload = fixture_json("alertmanager/firing.json")
    return dict(payload, alerts=[{**payload["alerts"][0], **changes}])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (_alertmanager(version="3"), "version"),
        ({"version": "4"}, "alerts"),
        (_alertmanager(alerts=[]), "alerts"),
        (_first_alert(labels=["component", "tracking-api"]), "labels"),
        (_first_alert(labels={"component": "tracking-api\x00"}), "labels"),
        (_first_alert(startsAt="yesterday"), "startsAt"),
        (_first_alert(status="pending"), "status"),
        (_first_alert(fingerprint=None), "fingerprint"),
    ],
)
def test_a_bad_payload_is_a_400_that_names_the_problem_and_records_nothing(monitoring_client, payload, field):
    response = post_body(monitoring_client, ALERTMANAGER_URL, payload)

    assert response.status_code == 400
    assert field in json.dumps(response.json())
    assert not Alert.objects.exists() and not AlertReceipt.objects.exists()


def test_an_unreadable_body_is_a_400(monitoring_client):
    response = post_body(monitoring_client, ALERTMANAGER_URL, b'{"version": "4", "alerts": [')

    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


@override_settings(ALERTS_MAX_PER_REQUEST=1)
def test_more_alerts_than_the_limit_are_refused_whole_naming_the_setting_to_use(monitoring_client, tracking_api):
    AlertRuleFactory(component=tracking_api)

    response = post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    assert response.status_code == 400
    assert "max_alerts: 1" in response.json()["alerts"][0]
    assert not Alert.objects.exists()


@override_settings(ALERTS_MAX_BODY_BYTES=1024)
def test_a_body_above_the_size_limit_is_refused_unread(monitoring_client):
    response = post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))

    assert response.status_code == 413
    assert "1395 bytes" in response.json()["detail"]
    assert not Alert.objects.exists()


def test_a_monitoring_token_posts_alerts_and_can_do_nothing_else(monitoring_token, tracking_api):
    bearer = APIClient(HTTP_AUTHORIZATION=f"Bearer {monitoring_token}")
    as_token = APIClient(HTTP_AUTHORIZATION=f"Token {monitoring_token}")
    alert = {"status": "firing", "labels": {"a": "b"}}

    answers = {
        "alerts": post_body(bearer, GENERIC_URL, {"alerts": [alert]}).status_code,
        "alerts, Token scheme": post_body(as_token, GENERIC_URL, {"alerts": [alert]}).status_code,
        # The bearer scheme is read on the alert endpoints only; the token itself may do nothing else.
        "incidents, Bearer scheme": bearer.get("/api/v1/incidents/").status_code,
        "incidents": as_token.get("/api/v1/incidents/").status_code,
        "declare": post_body(as_token, "/api/v1/incidents/", {"category": "information_system"}).status_code,
        "orders": as_token.get("/api/v1/orders/").status_code,
        "components": as_token.get("/api/v1/components/").status_code,
    }

    assert answers == {
        "alerts": 202,
        "alerts, Token scheme": 202,
        "incidents, Bearer scheme": 401,
        "incidents": 403,
        "declare": 403,
        "orders": 403,
        "components": 403,
    }
    assert not Incident.objects.exists()


def test_alerts_need_the_monitoring_role_and_a_live_token(monitoring_token):
    integration = api_token_issue(name="order system", user=UserFactory(role=roles.INTEGRATION, is_staff=False))
    body = {"alerts": [{"status": "firing", "labels": {"component": "tracking-api"}}]}

    order_system = post_body(APIClient(HTTP_AUTHORIZATION=f"Bearer {integration.key}"), GENERIC_URL, body)
    anonymous = post_body(APIClient(), GENERIC_URL, body)
    ApiToken.objects.filter(key=monitoring_token).update(revoked_at=timezone.now())
    revoked = post_body(APIClient(HTTP_AUTHORIZATION=f"Bearer {monitoring_token}"), GENERIC_URL, body)

    assert (order_system.status_code, anonymous.status_code, revoked.status_code) == (403, 401, 401)
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert not Alert.objects.exists()


# --- concurrency -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_for_one_component_open_one_incident():
    # given a component with a rule, and two different alerts for it arriving at the same moment
    component = ServiceComponentFactory()
    AlertRuleFactory(component=component)
    account = UserFactory(role=roles.MONITORING, is_staff=False)

    def deliver(index: int) -> None:
        alert = IncomingAlert(
            fingerprint=f"f{index}",
            status=AlertStatus.FIRING,
            labels={"component": "tracking-api", "instance": f"api-{index}", "severity": "critical"},
        )
        alerts_receive(delivery=Delivery(source=AlertSource.ALERTMANAGER, alerts=[alert]), actor=account)

    run_together(deliver, times=4)

    assert Incident.objects.count() == 1
    assert Alert.objects.filter(incident__isnull=False).count() == 4
    assert ComponentStatusChange.objects.filter(component=component).count() == 1
