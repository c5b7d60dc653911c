from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from components.models import STATUS_RANK, ComponentStatus
from core.roles import INCIDENT_MANAGER, SUPERVISOR
from incidents.models import OPEN_STATUSES, Incident
from monitoring.models import Alert, AlertRule, AlertStatus


def rules_in_order() -> list[AlertRule]:
    """The active rules, in the order an alert tries them (a handful of rows)."""
    return list(
        AlertRule.objects.filter(is_active=True).select_related("component", "category").order_by("position", "id")
    )


def rule_matching(rules: list[AlertRule], labels: Mapping[str, str]) -> AlertRule | None:
    return next((rule for rule in rules if rule.matches(labels)), None)


def firing_impact(*, component_id: int) -> str:
    """The worst impact among the component's firing alerts; operational when none fire."""
    impacts = Alert.objects.filter(component_id=component_id, status=AlertStatus.FIRING).values_list(
        "impact", flat=True
    )
    return max(impacts, key=STATUS_RANK.__getitem__, default=ComponentStatus.OPERATIONAL)


def open_incident_for_component(*, component_id: int) -> Incident | None:
    """Where a new alert of the component belongs: the open incident its other alerts
    joined, else the newest open incident that lists the component (a person's too)."""
    joined = (
        Incident.objects.filter(alerts__component_id=component_id, status__in=OPEN_STATUSES)
        .order_by("-reported_at", "-id")
        .first()
    )
    if joined is not None:
        return joined
    return (
        Incident.objects.filter(component_impacts__component_id=component_id, status__in=OPEN_STATUSES)
        .order_by("-reported_at", "-id")
        .first()
    )


def staff_to_tell_of_alert_incidents() -> list[User]:
    """Who publishes or runs what monitoring opens: incident managers and supervisors with an email."""
    return list(
        get_user_model()
        .objects.filter(groups__name__in=[INCIDENT_MANAGER, SUPERVISOR], is_active=True)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
