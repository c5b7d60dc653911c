"""The beat job that watches response and recovery targets."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from core.roles import INCIDENT_MANAGER, SUPERVISOR
from incidents.models import OPEN_STATUSES, AlertKind, Incident, Target, TargetAlert, UpdateKind, Visibility
from incidents.services import _timeline
from notifications.outbox import EventKey, staff_alert

logger = logging.getLogger(__name__)


def _warning_window(target: timedelta) -> timedelta:
    # A quarter of the target, at least five minutes: 7.5 min before a 30-min
    # response is due, 6 h before a 24-h repair.
    return max(timedelta(minutes=5), target * settings.TARGET_WARNING_FRACTION)


def incident_targets_check(*, now: datetime | None = None) -> list[TargetAlert]:
    """Raise each at-risk and missed alert once; returns the alerts raised by this call.

    Safe with two beat processes: ``TargetAlert``'s unique constraint lets exactly
    one insert of each alert succeed, and only that caller writes the timeline
    row and queues the emails.
    """
    now = now or timezone.now()
    raised = []
    incidents = Incident.objects.filter(status__in=OPEN_STATUSES).exclude(response_due_at=None, recovery_due_at=None)
    for incident in incidents.iterator():
        for target, due_at, done_at, duration in (
            (Target.RESPONSE, incident.response_due_at, incident.acknowledged_at, incident.response_target),
            (Target.RECOVERY, incident.recovery_due_at, incident.resolved_at, incident.recovery_target),
        ):
            if due_at is None or done_at is not None:
                continue
            if now >= due_at:
                kind = AlertKind.MISSED
            elif duration is not None and now >= due_at - _warning_window(duration):
                kind = AlertKind.AT_RISK
            else:
                continue
            alert = _raise_once(incident, target, kind, due_at)
            if alert is not None:
                raised.append(alert)
    return raised


def _raise_once(incident: Incident, target: str, kind: str, due_at: datetime) -> TargetAlert | None:
    try:
        with transaction.atomic():
            alert = TargetAlert.objects.create(incident=incident, target=target, kind=kind, due_at=due_at)
            if kind == AlertKind.MISSED:
                met_field = "response_met" if target == Target.RESPONSE else "recovery_met"
                Incident.objects.filter(pk=incident.pk).update(**{met_field: False})
            label = f"{alert.get_target_display()}: {alert.get_kind_display()}"
            with translation.override("zh-hans"):
                label_zh = f"{alert.get_target_display()}:{alert.get_kind_display()}"
            _timeline(
                incident=incident,
                kind=UpdateKind.TARGET,
                visibility=Visibility.INTERNAL,
                author=None,
                body_zh=f"{label_zh}(到期 {timezone.localtime(due_at):%Y-%m-%d %H:%M})",
                body_en=f"{label} (due {timezone.localtime(due_at):%Y-%m-%d %H:%M})",
            )
            _alert_staff(alert)
    except IntegrityError:
        return None  # raised already, by an earlier run or a second beat
    logger.warning("incident target alert", extra={"incident": incident.pk, "target": target, "kind": kind})
    return alert


def target_alert_recipients(incident: Incident) -> list[User]:
    """The commander and the supervisors."""
    recipients = {
        user.pk: user
        for user in get_user_model().objects.filter(groups__name=SUPERVISOR, is_active=True).exclude(email="")
    }
    if incident.commander and incident.commander.email and incident.commander.is_active:
        recipients[incident.commander.pk] = incident.commander
    return [recipients[pk] for pk in sorted(recipients)]


def _alert_staff(alert: TargetAlert) -> int:
    """Email the commander and supervisors about one alert, through the outbox (in the
    alert's transaction: retried until sent, visible in the admin); returns how many."""
    incident = alert.incident
    with translation.override("zh-hans"):
        subject = (
            f"[{incident.reference}] {alert.get_target_display()}:{alert.get_kind_display()} — {incident.title_zh}"
        )
    body = (
        f"{incident.reference} {incident.title_zh}\n"
        f"Target: {alert.target}, {alert.kind}; due {timezone.localtime(alert.due_at):%Y-%m-%d %H:%M}\n"
        f"Status: {incident.status}\n{settings.PUBLIC_BASE_URL}/admin/incidents/incident/{incident.pk}/change/\n"
    )
    return staff_alert(
        roles=[SUPERVISOR, INCIDENT_MANAGER],
        category_id=incident.category_id,
        users=target_alert_recipients(incident),
        event_key=EventKey.staff("target-alert", str(alert.pk)),
        subject=subject,
        body=body,
    )
