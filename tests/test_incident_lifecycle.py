from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core import roles
from incidents.errors import IncidentError
from incidents.models import Incident, IncidentStatus, IncidentUpdate, UpdateKind, Visibility
from incidents.services import incident_post_update, incident_transition
from tests.concurrency import run_together
from tests.factories import UserFactory, declare_incident

pytestmark = pytest.mark.django_db

ALL_ACTIONS = ["acknowledge", "investigate", "identify", "monitor", "resolve", "close", "reopen"]
# status → the actions allowed from it (for a supervisor, with the review written)
ALLOWED = {
    IncidentStatus.REPORTED: {"acknowledge", "investigate", "resolve"},
    IncidentStatus.ACKNOWLEDGED: {"investigate", "resolve"},
    IncidentStatus.INVESTIGATING: {"identify", "monitor", "resolve"},
    IncidentStatus.IDENTIFIED: {"monitor", "resolve"},
    IncidentStatus.MONITORING: {"resolve"},
    IncidentStatus.RESOLVED: {"close", "reopen"},
    IncidentStatus.CLOSED: set(),
}
PATH_TO = {
    IncidentStatus.REPORTED: [],
    IncidentStatus.ACKNOWLEDGED: ["acknowledge"],
    IncidentStatus.INVESTIGATING: ["acknowledge", "investigate"],
    IncidentStatus.IDENTIFIED: ["acknowledge", "investigate", "identify"],
    IncidentStatus.MONITORING: ["acknowledge", "investigate", "identify", "monitor"],
    IncidentStatus.RESOLVED: ["acknowledge", "resolve"],
    IncidentStatus.CLOSED: ["acknowledge", "resolve", "close"],
}


@pytest.fixture
def supervisor():
    return UserFactory(role=roles.SUPERVISOR)


@pytest.fixture
def manager():
    return UserFactory(role=roles.INCIDENT_MANAGER)


def incident_in(status, supervisor):
    incident = declare_incident(actor=supervisor)
    Incident.objects.filter(pk=incident.pk).update(
        root_cause="磁盘写满", measures_taken="扩容并切换备库", improvements="增加容量告警"
    )
    for action in PATH_TO[status]:
        incident_transition(incident_id=incident.pk, action=action, actor=supervisor)
    return Incident.objects.get(pk=incident.pk)


@pytest.mark.parametrize("status", list(ALLOWED))
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_every_transition_is_allowed_or_refused_as_designed(status, action, supervisor):
    incident = incident_in(status, supervisor)
    rows_before = incident.updates.count()

    if action in ALLOWED[status]:
        incident_transition(incident_id=incident.pk, action=action, actor=supervisor)
        incident.refresh_from_db()
        assert incident.status != status
        assert incident.updates.count() == rows_before + 1
    else:
        with pytest.raises(IncidentError, match="cannot be moved"):
            incident_transition(incident_id=incident.pk, action=action, actor=supervisor)
        assert Incident.objects.get(pk=incident.pk).status == status
        assert incident.updates.count() == rows_before


def test_declaring_sets_targets_from_the_category_and_a_public_row(manager):
    incident = declare_incident(actor=manager)

    assert incident.status == IncidentStatus.REPORTED
    assert incident.response_due_at - incident.reported_at == timedelta(minutes=30)
    assert incident.recovery_due_at - incident.reported_at == timedelta(hours=2)
    declared = incident.updates.get()
    assert (declared.kind, declared.visibility, declared.author) == (UpdateKind.DECLARED, Visibility.PUBLIC, manager)


def test_logistics_incident_has_targets_set_per_incident(manager):
    incident = declare_incident(actor=manager, category_code="logistics", recovery_target=timedelta(hours=72))

    assert incident.response_due_at is None
    assert incident.recovery_due_at - incident.reported_at == timedelta(hours=72)


def test_agent_may_not_declare(db):
    with pytest.raises(PermissionDenied):
        declare_incident(actor=UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))
    assert not Incident.objects.exists()


def test_manager_may_not_close_but_a_supervisor_may(manager, supervisor):
    incident = incident_in(IncidentStatus.RESOLVED, supervisor)

    with pytest.raises(PermissionDenied):
        incident_transition(incident_id=incident.pk, action="close", actor=manager)
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.RESOLVED

    incident_transition(incident_id=incident.pk, action="close", actor=supervisor)
    assert Incident.objects.get(pk=incident.pk).closed_at is not None


def test_agent_may_not_move_an_incident(supervisor):
    incident = declare_incident(actor=supervisor)

    with pytest.raises(PermissionDenied):
        incident_transition(
            incident_id=incident.pk, action="acknowledge", actor=UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)
        )
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.REPORTED


def test_closing_needs_the_post_incident_review(supervisor):
    incident = declare_incident(actor=supervisor)
    incident_transition(incident_id=incident.pk, action="resolve", actor=supervisor)

    with pytest.raises(IncidentError, match="post-incident review"):
        incident_transition(incident_id=incident.pk, action="close", actor=supervisor)
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.RESOLVED


def test_milestones_and_target_results_are_stamped(supervisor):
    incident = declare_incident(actor=supervisor)
    incident_transition(incident_id=incident.pk, action="acknowledge", actor=supervisor)
    incident_transition(incident_id=incident.pk, action="investigate", actor=supervisor)
    incident_transition(incident_id=incident.pk, action="monitor", actor=supervisor)
    incident_transition(incident_id=incident.pk, action="resolve", actor=supervisor)

    incident.refresh_from_db()
    assert incident.acknowledged_at <= incident.mitigated_at <= incident.resolved_at
    assert (incident.response_met, incident.recovery_met) == (True, True)


def test_late_acknowledgement_is_recorded_as_a_missed_response(supervisor):
    incident = declare_incident(actor=supervisor)
    Incident.objects.filter(pk=incident.pk).update(response_due_at=timezone.now() - timedelta(minutes=1))

    incident_transition(incident_id=incident.pk, action="acknowledge", actor=supervisor)

    assert Incident.objects.get(pk=incident.pk).response_met is False


def test_each_transition_writes_a_timeline_row_with_actor_and_states(supervisor):
    incident = declare_incident(actor=supervisor)

    incident_transition(incident_id=incident.pk, action="investigate", actor=supervisor, body_zh="正在排查数据库。")

    row = incident.updates.order_by("-id").first()
    assert (row.kind, row.from_status, row.status, row.author) == (
        UpdateKind.TRANSITION,
        "reported",
        "investigating",
        supervisor,
    )
    assert row.visibility == Visibility.PUBLIC
    assert row.body_zh_html == "<p>正在排查数据库。</p>"


def test_reopen_clears_the_resolution(supervisor):
    incident = incident_in(IncidentStatus.RESOLVED, supervisor)

    incident_transition(incident_id=incident.pk, action="reopen", actor=supervisor)

    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == (IncidentStatus.INVESTIGATING, None)


def test_update_markdown_is_sanitised(manager):
    incident = declare_incident(actor=manager)

    update = incident_post_update(
        incident_id=incident.pk, actor=manager, body_zh="**已定位**<script>alert(1)</script>[详情](javascript:alert(1))"
    )

    assert "<strong>已定位</strong>" in update.body_zh_html
    assert "<script>" not in update.body_zh_html
    assert "javascript:" not in update.body_zh_html


def test_changing_the_estimate_is_an_estimate_update(manager):
    incident = declare_incident(actor=manager)
    new_estimate = timezone.now() + timedelta(hours=6)

    update = incident_post_update(
        incident_id=incident.pk, actor=manager, body_zh="预计 6 小时内恢复。", estimated_recovery_at=new_estimate
    )

    assert update.kind == UpdateKind.ESTIMATE
    assert Incident.objects.get(pk=incident.pk).estimated_recovery_at == new_estimate


def test_update_needs_chinese_text(manager):
    incident = declare_incident(actor=manager)

    with pytest.raises(IncidentError):
        incident_post_update(incident_id=incident.pk, actor=manager, body_zh="  ")


@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_resolve_one_way_and_the_loser_is_told():
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)

    def acknowledge(_index):
        try:
            incident_transition(incident_id=incident.pk, action="acknowledge", actor=manager)
        except IncidentError as error:
            return ("refused", str(error))
        return ("ok", "acknowledge")

    outcomes = run_together(acknowledge, 2)

    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    refusal = next(message for kind, message in outcomes if kind == "refused")
    assert "Acknowledged" in refusal or "已确认" in refusal
    assert IncidentUpdate.objects.filter(incident=incident, kind=UpdateKind.TRANSITION).count() == 1
