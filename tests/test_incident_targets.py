from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import roles
from incidents.models import AlertKind, Incident, TargetAlert, UpdateKind
from incidents.services import incident_transition
from incidents.targets import incident_targets_check
from notifications.models import Notification, Status
from notifications.sending import notifications_send
from tests.concurrency import run_together
from tests.factories import UserFactory, declare_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def commander():
    return UserFactory(role=roles.INCIDENT_MANAGER, email="commander@example.com")


@pytest.fixture
def incident(commander):
    UserFactory(role=roles.SUPERVISOR, email="supervisor@example.com")
    return declare_incident(actor=commander, commander=commander)


def test_nothing_is_raised_while_a_target_is_far_off(incident):
    assert incident_targets_check(now=incident.reported_at + timedelta(minutes=10)) == []


def test_response_about_to_be_missed_then_missed_each_raise_once(incident, django_capture_on_commit_callbacks):
    at_risk_time = incident.response_due_at - timedelta(minutes=5)
    late_time = incident.response_due_at + timedelta(minutes=1)

    with django_capture_on_commit_callbacks() as callbacks:
        first = incident_targets_check(now=at_risk_time)
        repeat = incident_targets_check(now=at_risk_time)
        missed = incident_targets_check(now=late_time)
        missed_again = incident_targets_check(now=late_time)

    assert [(alert.target, alert.kind) for alert in first] == [("response", AlertKind.AT_RISK)]
    assert repeat == []
    assert [(alert.target, alert.kind) for alert in missed] == [("response", AlertKind.MISSED)]
    assert missed_again == []
    assert len(callbacks) == 2
    assert Incident.objects.get(pk=incident.pk).response_met is False
    assert incident.updates.filter(kind=UpdateKind.TARGET).count() == 2


def test_alert_email_goes_to_the_commander_and_supervisors_through_the_outbox(incident, providers):
    _twilio, smtp = providers
    smtp.refuse_next = 1  # the mail server is briefly unavailable

    alert = incident_targets_check(now=incident.response_due_at + timedelta(seconds=1))[0]
    rows = Notification.objects.filter(event_key=f"staff:target-alert:{alert.pk}")
    first = notifications_send(ids=list(rows.values_list("pk", flat=True)))
    rows.update(next_attempt_at=timezone.now())
    second = notifications_send(ids=list(rows.values_list("pk", flat=True)))

    assert sorted(first.values()) == ["retry", "sent"]  # one refused and kept for a retry, not lost
    assert sorted(second.values()) == ["sent", "skipped"]
    assert {row.recipient for row in rows} == {"commander@example.com", "supervisor@example.com"}
    assert set(rows.values_list("status", flat=True)) == {Status.SENT}
    received = [message for message in smtp.messages if incident.reference in str(message["Subject"])]
    assert sorted(str(message["To"]) for message in received) == ["commander@example.com", "supervisor@example.com"]


def test_acknowledged_incident_raises_no_response_alert(incident, commander):
    incident_transition(incident_id=incident.pk, action="acknowledge", actor=commander)

    raised = incident_targets_check(now=incident.response_due_at + timedelta(minutes=1))

    assert [alert.target for alert in raised] == []


def test_recovery_missed_is_raised_for_an_unresolved_incident(incident, commander):
    incident_transition(incident_id=incident.pk, action="acknowledge", actor=commander)

    raised = incident_targets_check(now=incident.recovery_due_at + timedelta(minutes=1))

    assert [(alert.target, alert.kind) for alert in raised] == [("recovery", AlertKind.MISSED)]
    assert Incident.objects.get(pk=incident.pk).recovery_met is False


@pytest.mark.django_db(transaction=True)
def test_two_beat_processes_raise_each_alert_once():

    commander = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=commander)
    late = timezone.now() + timedelta(hours=3)
    raised = [alert for alerts in run_together(lambda _index: incident_targets_check(now=late), 2) for alert in alerts]

    assert sorted((alert.target, alert.kind) for alert in raised) == [("recovery", "missed"), ("response", "missed")]
    assert TargetAlert.objects.filter(incident=incident).count() == 2
    assert incident.updates.filter(kind=UpdateKind.TARGET).count() == 2
