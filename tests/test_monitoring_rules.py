"""Alert rules: Alertmanager's matcher syntax, severities, and who may let a rule declare in public."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from components.models import ComponentStatus
from core import roles
from incidents.models import IncidentCategory
from monitoring.matchers import MatcherError, all_match, parse_matchers
from monitoring.models import AlertReceipt, AlertRule, RuleAction
from tests.factories import AlertRuleFactory, ServiceComponentFactory, UserFactory
from tests.monitoring import ALERTMANAGER_URL, fixture_body, post_body

LABELS = {"alertname": "TrackingApiDown", "component": "tracking-api", "severity": "critical", "job": "api"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ('component="tracking-api"', True),
        ('component="tracking"', False),
        ('component!="tracking-api"', False),
        ('severity=~"critical|page"', True),
        ('severity=~"crit"', False),  # anchored, as in Alertmanager
        ('severity!~"warn.*"', True),
        ('team=""', True),  # a missing label is the empty string
        ('team!=""', False),
        ('{component="tracking-api", job="api"}', True),
        ('component="tracking-api"\njob="web"', False),
        ('alertname="Tracking\\"Api"', False),
    ],
)
def test_matchers_read_and_match_as_alertmanager_does(text, matches):
    assert all_match(parse_matchers(text), LABELS) is matches


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("component=tracking-api", "not a matcher"),
        ('severity=~"(critical"', "not a regular expression"),
        ("", "at least one matcher"),
        ('component="a" job', "not a matcher"),
    ],
)
def test_an_unreadable_matcher_says_what_is_wrong(text, problem):
    with pytest.raises(MatcherError, match=problem):
        parse_matchers(text)


@pytest.mark.parametrize(
    ("severity", "impact"),
    [
        ("critical", ComponentStatus.MAJOR_OUTAGE),
        ("PAGE", ComponentStatus.MAJOR_OUTAGE),
        ("error", ComponentStatus.PARTIAL_OUTAGE),
        ("warning", ComponentStatus.DEGRADED_PERFORMANCE),
        (None, ComponentStatus.DEGRADED_PERFORMANCE),
    ],
)
@pytest.mark.django_db
def test_the_severity_label_picks_the_components_status(severity, impact):
    rule = AlertRuleFactory()
    labels = {"component": "tracking-api"} | ({"severity": severity} if severity else {})

    assert rule.impact_for(labels) == impact


# --- the admin -----------------------------------------------------------------------------------


def _rule_form(component, **changes) -> dict:
    return {
        "name": "Tracking API down",
        "matchers": 'component="tracking-api"',
        "component": component.pk,
        "severity_label": "severity",
        "major_outage_severities": "critical,page",
        "partial_outage_severities": "error,high",
        "action": RuleAction.DRAFT,
        "category": IncidentCategory.objects.get(code="information_system").pk,
        "is_active": "on",
        "position": "0",
    } | changes


@pytest.mark.django_db
def test_only_a_supervisor_may_mark_a_rule_to_declare_public_incidents(client):
    component = ServiceComponentFactory()
    manager, supervisor = UserFactory(role=roles.INCIDENT_MANAGER), UserFactory(role=roles.SUPERVISOR)
    url = reverse("admin:monitoring_alertrule_add")

    client.force_login(manager)
    refused = client.post(url, _rule_form(component, action=RuleAction.DECLARE))
    drafted = client.post(url, _rule_form(component, name="draft"))
    client.force_login(supervisor)
    declared = client.post(url, _rule_form(component, name="declare", action=RuleAction.DECLARE))

    assert refused.status_code == 200 and "action" in refused.context["adminform"].form.errors
    assert (drafted.status_code, declared.status_code) == (302, 302)
    assert AlertRule.objects.get(name="draft").declare_approved_by is None
    assert AlertRule.objects.get(name="declare").declare_approved_by == supervisor
    assert not AlertRule.objects.filter(name="Tracking API down").exists()


@pytest.mark.django_db
def test_a_manager_sees_but_cannot_change_or_delete_a_rule_a_supervisor_marked_to_declare(client):
    rule = AlertRuleFactory(action=RuleAction.DECLARE)
    client.force_login(UserFactory(role=roles.INCIDENT_MANAGER))

    page = client.get(reverse("admin:monitoring_alertrule_change", args=[rule.pk]))
    change = client.post(
        reverse("admin:monitoring_alertrule_change", args=[rule.pk]), _rule_form(rule.component, name="loosened")
    )
    delete = client.post(reverse("admin:monitoring_alertrule_delete", args=[rule.pk]), {"post": "yes"})

    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert (change.status_code, delete.status_code) == (403, 403)
    rule.refresh_from_db()
    assert rule.name != "loosened"


@pytest.mark.django_db
def test_unreadable_matchers_are_a_form_error_naming_them(client):
    client.force_login(UserFactory(role=roles.INCIDENT_MANAGER))

    response = client.post(
        reverse("admin:monitoring_alertrule_add"),
        _rule_form(ServiceComponentFactory(), matchers="component=tracking-api"),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert (
        response.context["adminform"].form.errors["matchers"][0].startswith("not a matcher: 'component=tracking-api'")
    )
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_deactivating_a_rule_gives_its_component_back_at_once(client, monitoring_client):
    # given a component in a major outage by its firing alerts
    rule = AlertRuleFactory(action=RuleAction.STATUS)
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"))
    rule.component.refresh_from_db()
    assert rule.component.status == ComponentStatus.MAJOR_OUTAGE

    # when a manager switches the rule off
    client.force_login(UserFactory(role=roles.INCIDENT_MANAGER))
    response = client.post(
        reverse("admin:monitoring_alertrule_change", args=[rule.pk]),
        _rule_form(rule.component, action=RuleAction.STATUS, is_active=""),
    )

    # then the component is operational without waiting for the alerts' next delivery
    assert response.status_code == 302
    rule.component.refresh_from_db()
    assert rule.component.status == ComponentStatus.OPERATIONAL


@pytest.mark.django_db
def test_staff_see_each_received_alert_with_what_was_done(client, monitoring_client):
    AlertRuleFactory(matchers='alertname="TrackingApiDown"')
    post_body(monitoring_client, ALERTMANAGER_URL, fixture_body("alertmanager/firing.json"), HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(role=roles.INCIDENT_MANAGER))

    listing = client.get(
        reverse("admin:monitoring_alertreceipt_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    ignored = AlertReceipt.objects.get(alert__alertname="TrackingApiHighLatency")
    detail = client.get(
        reverse("admin:monitoring_alertreceipt_change", args=[ignored.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    listing, detail = html.unescape(listing), html.unescape(detail)
    assert "counts for" in listing and "Major outage" in listing
    assert 'no alert rule matches its labels (component="tracking-api")' in listing
    assert "52ed86b052a13268" in detail and 'instance="tracking-api-2:8080"' in detail
