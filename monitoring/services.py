"""Alerts in: each delivery moves component statuses and opens or notes incidents.

What a delivery does, per alert:

1. It is recorded: its state row (one per source and fingerprint) and a receipt.
2. The first active rule whose matchers match its labels says which component it
   counts for and how badly (its severity label); no rule, and it is ignored.
3. A component's monitoring status is the worst impact among its firing alerts,
   so a repeated firing alert changes nothing and a resolved one takes its part away.
4. Newly firing alerts of a rule that opens incidents join the component's open
   incident (one per component, whoever runs it) or open one: internal for a person
   to publish, or public when a supervisor marked the rule so. A resolved alert adds
   an internal row to its incident; it never resolves an incident.

Each component is its own transaction, so a delivery that fails part-way (the sender
retries on a 5xx) finds the components it finished unchanged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from components.services import component_monitoring_status_set
from core.roles import INCIDENT_MANAGER, SUPERVISOR
from incidents.models import Incident
from incidents.services import incident_note_alert, incident_open
from monitoring import wording
from monitoring.models import (
    ACTION_STRENGTH,
    RECEIVE_PERMISSION,
    Alert,
    AlertReceipt,
    AlertRule,
    AlertStatus,
    Outcome,
    RuleAction,
)
from monitoring.selectors import (
    firing_impact,
    open_incident_for_component,
    rule_matching,
    rules_in_order,
    staff_to_tell_of_alert_incidents,
)
from notifications.outbox import EventKey, staff_alert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingAlert:
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""


@dataclass(frozen=True)
class Delivery:
    """One POST from a monitoring system: its alerts and where they came from."""

    source: str
    alerts: list[IncomingAlert]
    group_key: str = ""
    receiver: str = ""


@dataclass
class AlertResult:
    fingerprint: str
    alertname: str
    status: str
    outcome: str
    detail: str
    component: int | None = None
    incident: int | None = None


def alerts_receive(*, delivery: Delivery, actor: User) -> list[AlertResult]:
    """Record and apply a delivery; one result per alert, in the delivery's order.

    Idempotent: the same delivery again answers "nothing changed" for each alert and
    writes only its receipts. Safe under concurrent deliveries (one at a time per
    component); an alert listed twice in one delivery counts once, as its last entry.
    """
    if not actor.has_perm(RECEIVE_PERMISSION):
        raise PermissionDenied(_("You may not post monitoring alerts."))
    now = timezone.now()
    incoming = {alert.fingerprint: alert for alert in delivery.alerts}
    _insert_unseen(delivery.source, incoming.values(), now)
    rules = rules_in_order()
    matched = {fingerprint: rule_matching(rules, alert.labels) for fingerprint, alert in incoming.items()}
    counted_for = dict(
        Alert.objects.filter(source=delivery.source, fingerprint__in=list(incoming)).values_list(
            "fingerprint", "component_id"
        )
    )
    # Grouped by the component an alert counts for now, or counted for until now.
    groups: dict[int | None, list[str]] = defaultdict(list)
    for fingerprint, rule in matched.items():
        groups[rule.component_id if rule else counted_for.get(fingerprint)].append(fingerprint)
    results: dict[str, AlertResult] = {}
    for component_id in sorted(groups, key=lambda key: (key is None, key or 0)):
        fingerprints = groups[component_id]
        with transaction.atomic():
            involved = {
                key
                for key in (component_id, *(counted_for.get(fingerprint) for fingerprint in fingerprints))
                if key is not None
            }
            components_lock_for_alerts(involved)
            batch = _Batch(delivery=delivery, actor=actor, now=now, component_id=component_id)
            results.update(
                batch.apply(
                    {fingerprint: (incoming[fingerprint], matched[fingerprint]) for fingerprint in fingerprints}
                )
            )
    logger.info(
        "alerts received",
        extra={
            "source": delivery.source,
            "alerts": len(incoming),
            "applied": sum(result.outcome == Outcome.APPLIED for result in results.values()),
            "ignored": sum(result.outcome == Outcome.IGNORED for result in results.values()),
        },
    )
    return [results[fingerprint] for fingerprint in incoming]


def _insert_unseen(source: str, alerts: Iterable[IncomingAlert], now: datetime) -> None:
    # Inserted before anything is locked, so the unique constraint settles two deliveries
    # of a new alert; the status stays empty until a delivery has applied it.
    Alert.objects.bulk_create(
        [
            Alert(source=source, fingerprint=alert.fingerprint, first_received_at=now, last_received_at=now)
            for alert in alerts
        ],
        ignore_conflicts=True,
    )


# Two deliveries for one component must not both find "no open incident" and open one
# each. The lock is not the component's row: an incident transition locks the incident
# and then its components, and a delivery writes to incidents while it holds its
# component, so the two would deadlock. Locks are taken in id order.
_LOCK_NAMESPACE = 0x6D6F6E  # "mon"


def components_lock_for_alerts(component_ids: set[int]) -> None:
    """Wait for, then hold until commit, the right to change these components' alerts."""
    if connection.vendor != "postgresql":
        return  # SQLite runs one writing transaction at a time (IMMEDIATE)
    with connection.cursor() as cursor:
        for component_id in sorted(component_ids):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, component_id])


# What a delivery may change on an alert's row (its last delivery time is written for all at once).
_STATE_FIELDS = [
    "alertname",
    "status",
    "labels",
    "annotations",
    "starts_at",
    "ends_at",
    "generator_url",
    "rule",
    "component",
    "impact",
]


@dataclass
class _Batch:
    """The alerts of one delivery that concern one component (or none), in one transaction."""

    delivery: Delivery
    actor: User
    now: datetime
    component_id: int | None
    receipts: list[AlertReceipt] = field(default_factory=list)
    results: dict[str, AlertResult] = field(default_factory=dict)
    newly_firing: list[Alert] = field(default_factory=list)
    newly_resolved: list[Alert] = field(default_factory=list)
    components_touched: set[int] = field(default_factory=set)

    def apply(self, entries: dict[str, tuple[IncomingAlert, AlertRule | None]]) -> dict[str, AlertResult]:
        rows = Alert.objects.select_for_update().filter(source=self.delivery.source, fingerprint__in=list(entries))
        by_fingerprint = {row.fingerprint: row for row in rows.order_by("pk")}
        changed = []
        for fingerprint, (incoming, rule) in entries.items():
            if self._decide(by_fingerprint[fingerprint], incoming, rule):
                changed.append(by_fingerprint[fingerprint])
        # A repeated delivery (the usual one: Alertmanager re-sends every firing alert of
        # a group) is one statement; only what changed is written row by row.
        Alert.objects.filter(pk__in=[alert.pk for alert in by_fingerprint.values()]).update(last_received_at=self.now)
        for alert in changed:
            alert.save(update_fields=_STATE_FIELDS)
        # Incidents first, component rows last: the order an incident transition takes them in.
        self._join_or_open_incident()
        self._note_resolutions()
        for component_id in sorted(self.components_touched):
            component_monitoring_status_set(
                component_id=component_id,
                status=firing_impact(component_id=component_id),
                reason=wording.status_reason(self.newly_firing + self.newly_resolved),
            )
        for receipt in self.receipts:
            receipt.incident_id = receipt.alert.incident_id
            self.results[receipt.alert.fingerprint].incident = receipt.incident_id
        AlertReceipt.objects.bulk_create(self.receipts)
        return self.results

    def _decide(self, alert: Alert, incoming: IncomingAlert, rule: AlertRule | None) -> bool:
        """Apply one alert to its row (unsaved) and record the receipt; returns whether the row changed."""
        before = (alert.status, alert.component_id, alert.impact)
        recorded = _recorded(alert)
        alert.labels, alert.annotations = incoming.labels, incoming.annotations
        alert.alertname = incoming.labels.get("alertname", "")[:200]
        alert.generator_url = incoming.generator_url[:2000]
        alert.last_received_at = self.now
        if incoming.status == AlertStatus.FIRING:
            outcome, detail = self._fire(alert, incoming, rule, before)
        else:
            outcome, detail = self._resolve(alert, incoming, rule, before)
        if alert.component_id is not None and (alert.status, alert.component_id, alert.impact) != before:
            self.components_touched.add(alert.component_id)
        if before[1] is not None and before[1] != alert.component_id:
            self.components_touched.add(before[1])
        self.receipts.append(
            AlertReceipt(
                alert=alert,
                received_at=self.now,
                status=incoming.status,
                starts_at=incoming.starts_at,
                ends_at=incoming.ends_at,
                rule=rule,
                component_id=alert.component_id,
                incident_id=alert.incident_id,
                outcome=outcome,
                detail=detail[:500],
                group_key=self.delivery.group_key[:500],
                receiver=self.delivery.receiver[:200],
            )
        )
        self.results[alert.fingerprint] = AlertResult(
            fingerprint=alert.fingerprint,
            alertname=alert.alertname,
            status=incoming.status,
            outcome=outcome,
            detail=detail,
            component=alert.component_id,
        )
        return _recorded(alert) != recorded

    def _fire(
        self, alert: Alert, incoming: IncomingAlert, rule: AlertRule | None, before: tuple[str, int | None, str]
    ) -> tuple[str, str]:
        was_status, was_component, _was_impact = before
        counts_nowhere = rule is None and was_component is None
        if was_status == AlertStatus.RESOLVED and _same_episode(alert, incoming):
            if counts_nowhere:
                return Outcome.IGNORED, wording.no_rule(incoming.labels)
            return Outcome.UNCHANGED, _("older than the resolution already received")
        alert.rule = rule
        if counts_nowhere:
            # Kept as firing: a rule added later counts it at once (monitoring.rules.firing_alerts_recount).
            alert.status, alert.starts_at, alert.ends_at = AlertStatus.FIRING, incoming.starts_at, None
            return Outcome.IGNORED, wording.no_rule(incoming.labels)
        impact = rule.impact_for(incoming.labels) if rule else ""
        target = (AlertStatus.FIRING, rule.component_id, impact) if rule else None
        if target == before:
            return Outcome.UNCHANGED, _("already firing")
        alert.status, alert.starts_at, alert.ends_at = AlertStatus.FIRING, incoming.starts_at or self.now, None
        if rule is None:
            alert.component, alert.impact = None, ""
            return Outcome.APPLIED, _("no rule matches any more: it no longer counts for a component")
        alert.component, alert.impact = rule.component, impact
        if was_status != AlertStatus.FIRING:
            self.newly_firing.append(alert)
        return Outcome.APPLIED, wording.counted(rule.component, alert.impact)

    def _resolve(
        self, alert: Alert, incoming: IncomingAlert, rule: AlertRule | None, before: tuple[str, int | None, str]
    ) -> tuple[str, str]:
        was_status, was_component, _was_impact = before
        counts_nowhere = rule is None and was_component is None
        if was_status != AlertStatus.FIRING:
            if not was_status:  # its first delivery is its resolution
                alert.status, alert.starts_at, alert.ends_at = (
                    AlertStatus.RESOLVED,
                    incoming.starts_at,
                    incoming.ends_at,
                )
            if counts_nowhere:
                return Outcome.IGNORED, wording.no_rule(incoming.labels)
            return Outcome.UNCHANGED, _("not firing")
        alert.status, alert.impact = AlertStatus.RESOLVED, ""
        alert.ends_at = incoming.ends_at or self.now
        if was_component is None:
            return Outcome.IGNORED, wording.no_rule(incoming.labels)
        self.newly_resolved.append(alert)
        return Outcome.APPLIED, _("resolved: it no longer counts for %(component)s") % {
            "component": wording.name(alert.component)
        }

    def _join_or_open_incident(self) -> None:
        opening = [alert for alert in self.newly_firing if alert.rule and alert.rule.action != RuleAction.STATUS]
        if not opening or self.component_id is None:
            return
        component = opening[0].component
        if component is None:  # never: a firing alert with a rule counts for the rule's component
            return
        incident = open_incident_for_component(component_id=component.pk)
        if incident is None:
            strongest = max(
                (alert.rule for alert in opening if alert.rule is not None),
                key=lambda rule: ACTION_STRENGTH[rule.action],
            )
            worst = firing_impact(component_id=component.pk)
            incident = incident_open(
                opened_by=self.actor,
                category=strongest.category,
                publish=strongest.action == RuleAction.DECLARE,
                component_impacts={component.pk: worst},
                # A sender's clock ahead of ours must not start the impact after the report.
                impact_started_at=min([self.now, *(alert.starts_at for alert in opening if alert.starts_at)]),
                **wording.incident_fields(component, worst, opening),
            )
            self._tell_staff(incident, opening)
        else:
            texts = wording.firing_note(opening)
            incident_note_alert(incident_id=incident.pk, author=self.actor, body_zh=texts[0], body_en=texts[1])
        Alert.objects.filter(pk__in=[alert.pk for alert in opening]).update(incident=incident)
        for alert in opening:
            alert.incident = incident

    def _tell_staff(self, incident: Incident, alerts: list[Alert]) -> None:
        """Managers and supervisors by email, and the chats that take their alerts or the
        category's, through the outbox (written in this transaction, sent after it)."""
        subject, body = wording.staff_alert(incident, alerts)
        staff_alert(
            users=staff_to_tell_of_alert_incidents(),
            roles=[INCIDENT_MANAGER, SUPERVISOR],
            category_id=incident.category_id,
            event_key=EventKey.staff("alert-incident", str(incident.pk)),
            subject=subject,
            body=body,
        )

    def _note_resolutions(self) -> None:
        by_incident: dict[int, list[Alert]] = defaultdict(list)
        for alert in self.newly_resolved:
            if alert.incident is not None and alert.incident.is_open:
                by_incident[alert.incident.pk].append(alert)
        for incident_id, alerts in sorted(by_incident.items()):
            component = alerts[0].component
            all_clear = not Alert.objects.filter(component=component, status=AlertStatus.FIRING).exists()
            body_zh, body_en = wording.resolved_note(alerts, component if all_clear else None)
            incident_note_alert(incident_id=incident_id, author=self.actor, body_zh=body_zh, body_en=body_en)


def _recorded(alert: Alert) -> tuple[object, ...]:
    fields = (Alert._meta.get_field(name) for name in _STATE_FIELDS)
    return tuple(getattr(alert, field.attname) for field in fields if isinstance(field, models.Field))


def _same_episode(alert: Alert, incoming: IncomingAlert) -> bool:
    # A firing notice that started before the resolution we hold is a late copy of the
    # same episode (an Alertmanager peer, a retry); a new episode starts after it.
    return bool(alert.ends_at and incoming.starts_at and incoming.starts_at <= alert.ends_at)
