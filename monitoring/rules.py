"""Writes for alert rules: who may let one declare in public, and re-counting the firing
alerts when rules change (so a component does not wait for its alerts' next delivery)."""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from components.services import component_monitoring_status_set
from monitoring.models import DECLARE_PERMISSION, Alert, AlertRule, AlertStatus, RuleAction
from monitoring.selectors import firing_impact, rule_matching, rules_in_order
from monitoring.services import components_lock_for_alerts

logger = logging.getLogger(__name__)


def alert_rule_save(*, rule: AlertRule, actor: User) -> AlertRule:
    """Save a rule staff wrote, and re-count the firing alerts under the rules as they are now.

    Only a supervisor (``declare_from_alerts``) may save a rule that declares public
    incidents, or change one that does; whoever made it so is recorded.
    """
    was_declaring = bool(rule.pk) and AlertRule.objects.filter(pk=rule.pk, action=RuleAction.DECLARE).exists()
    if (rule.action == RuleAction.DECLARE or was_declaring) and not actor.has_perm(DECLARE_PERMISSION):
        raise PermissionDenied(_("Only a supervisor may let a rule declare public incidents."))
    with transaction.atomic():
        if rule.action == RuleAction.DECLARE and not was_declaring:
            rule.declare_approved_by = actor
        elif rule.action != RuleAction.DECLARE:
            rule.declare_approved_by = None
        rule.updated_by = actor
        rule.save()
        firing_alerts_recount()
    return rule


def alert_rule_delete(*, rule: AlertRule, actor: User) -> None:
    """Delete a rule; the alerts it counted stop counting at once (not at their next delivery)."""
    if rule.action == RuleAction.DECLARE and not actor.has_perm(DECLARE_PERMISSION):
        raise PermissionDenied(_("Only a supervisor may delete a rule that declares public incidents."))
    with transaction.atomic():
        rule.delete()
        firing_alerts_recount()


def firing_alerts_recount() -> list[int]:
    """Match every firing alert against the rules as they are now and move the components
    whose share changed. Statuses only: incidents follow the alerts' next delivery.
    Returns the components whose public status changed."""
    rules = rules_in_order()
    firing = list(Alert.objects.filter(status=AlertStatus.FIRING).order_by("pk"))
    touched: set[int] = set()
    moved: list[Alert] = []
    for alert in firing:
        rule = rule_matching(rules, alert.labels)
        target = (rule.component_id, rule.impact_for(alert.labels)) if rule else (None, "")
        if (alert.component_id, alert.impact) == target:
            continue
        touched |= {key for key in (alert.component_id, target[0]) if key is not None}
        alert.rule, alert.component_id, alert.impact = rule, target[0], target[1]
        moved.append(alert)
    if not moved:
        return []
    with transaction.atomic():
        components_lock_for_alerts(touched)
        Alert.objects.bulk_update(moved, ["rule", "component", "impact"])
        changed = [
            component_id
            for component_id in sorted(touched)
            if component_monitoring_status_set(
                component_id=component_id,
                status=firing_impact(component_id=component_id),
                reason=_("alert rules changed"),
            )
        ]
    logger.info("firing alerts recounted", extra={"moved": len(moved), "components": sorted(touched)})
    return changed
