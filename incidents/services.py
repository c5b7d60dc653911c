"""Writes for incidents: declare, move through the lifecycle, post updates.

Every service writes its timeline row in the same transaction as the change; a
public row is announced (customers, status-page subscribers) through
``incidents.messaging``, whose work is queued once the transaction commits.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal, TypedDict, Unpack

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from components.services import component_statuses_recompute
from incidents.errors import IncidentConflict, IncidentError
from incidents.markdown import render_markdown
from incidents.messaging import (
    incident_affected_customers_notify,
    incident_webhook_publish,
    merchants_announce_on_commit,
    update_announce_on_commit,
)
from incidents.models import (
    DECLARE_PERMISSION,
    MANAGE_PERMISSION,
    Incident,
    IncidentCategory,
    IncidentComponent,
    IncidentStatus,
    IncidentUpdate,
    UpdateKind,
    Visibility,
)

logger = logging.getLogger(__name__)

TRANSITIONS = ("acknowledge", "investigate", "identify", "monitor", "resolve", "close", "reopen")
# What the public sees by default; staff can override per transition.
PUBLIC_BY_DEFAULT = {"investigate", "identify", "monitor", "resolve", "reopen"}


def _timeline(
    *,
    incident: Incident,
    kind: str,
    visibility: str,
    author: User | None,
    body_zh: str = "",
    body_en: str = "",
    from_status: str = "",
    notify_customers: bool = False,
    sms: bool | None = None,
    email: bool | None = None,
) -> IncidentUpdate:
    # An internal incident's timeline is internal, whatever the row asked for.
    public = visibility == Visibility.PUBLIC and incident.is_published
    notify = notify_customers and public
    # SMS costs money and interrupts: by default only for the news that changes a
    # customer's plans. Email goes with every public update. Staff may override.
    sms_by_default = kind == UpdateKind.ESTIMATE or (
        kind == UpdateKind.TRANSITION and incident.status == IncidentStatus.RESOLVED
    )
    update = IncidentUpdate.objects.create(
        incident=incident,
        kind=kind,
        visibility=Visibility.PUBLIC if public else Visibility.INTERNAL,
        status=incident.status,
        from_status=from_status,
        body_zh=body_zh,
        body_en=body_en,
        body_zh_html=render_markdown(body_zh) if body_zh else "",
        body_en_html=render_markdown(body_en) if body_en else "",
        notify_customers=notify,
        notify_sms=notify and (sms_by_default if sms is None else sms),
        notify_email=notify and (True if email is None else email),
        author=author,
    )
    if public:
        update_announce_on_commit(update=update)
    incident_webhook_publish(update=update)
    return update


class IncidentDetails(TypedDict, total=False):
    """What ``incident_open`` takes besides what ``incident_declare`` decides."""

    title_en: str
    summary_zh: str
    summary_en: str
    description: str
    commander: User | None
    impact_started_at: datetime | None
    estimated_recovery_at: datetime | None
    response_target: timedelta | None
    recovery_target: timedelta | None
    component_impacts: Mapping[int, str] | None
    notify_customers: bool


def incident_declare(
    *,
    actor: User,
    category: IncidentCategory,
    title_zh: str,
    severity: int,
    publish: bool | None = None,
    **details: Unpack[IncidentDetails],
) -> Incident:
    """Open an incident as ``actor``, who must hold the permission to declare.

    Published at once (a public row, the status page) unless ``publish`` is false;
    a client system without the command permission (the order system) always opens
    it internal, for a person to publish. ``details`` are ``incident_open``'s.
    """
    if not actor.has_perm(DECLARE_PERMISSION):
        raise PermissionDenied(_("You may not declare incidents."))
    may_publish = actor.has_perm(MANAGE_PERMISSION)
    if publish and not may_publish:
        raise PermissionDenied(_("Incidents you open stay internal until a person publishes them."))
    return incident_open(
        opened_by=actor,
        category=category,
        title_zh=title_zh,
        severity=severity,
        publish=may_publish if publish is None else publish,
        **details,
    )


def incident_open(
    *,
    opened_by: User,
    category: IncidentCategory,
    title_zh: str,
    severity: int,
    publish: bool,
    title_en: str = "",
    summary_zh: str = "",
    summary_en: str = "",
    description: str = "",
    commander: User | None = None,
    impact_started_at: datetime | None = None,
    estimated_recovery_at: datetime | None = None,
    response_target: timedelta | None = None,
    recovery_target: timedelta | None = None,
    component_impacts: Mapping[int, str] | None = None,
    notify_customers: bool = True,
) -> Incident:
    """Open an incident with its targets, components and a "declared" row, without
    asking who may: the caller has decided (``incident_declare`` by the actor's
    permissions, monitoring by an alert rule staff configured).

    Targets default to the category's and fall due counted from the report; atomic:
    the incident, its components' statuses and the timeline row commit together.
    """
    now = timezone.now()
    response_target = response_target if response_target is not None else category.response_target
    recovery_target = recovery_target if recovery_target is not None else category.recovery_target
    with transaction.atomic():
        incident = Incident.objects.create(
            category=category,
            severity=severity,
            title_zh=title_zh,
            title_en=title_en,
            summary_zh=summary_zh,
            summary_en=summary_en,
            description=description,
            commander=commander,
            impact_started_at=impact_started_at or now,
            reported_at=now,
            estimated_recovery_at=estimated_recovery_at,
            published_at=now if publish else None,
            response_target=response_target,
            recovery_target=recovery_target,
            response_due_at=now + response_target if response_target is not None else None,
            recovery_due_at=now + recovery_target if recovery_target is not None else None,
            created_by=opened_by,
        )
        if component_impacts:
            _set_component_impacts(incident, component_impacts)
        _timeline(
            incident=incident,
            kind=UpdateKind.DECLARED,
            visibility=Visibility.PUBLIC,
            author=opened_by,
            body_zh=summary_zh or title_zh,
            body_en=summary_en or title_en,
            notify_customers=notify_customers,
        )
    logger.info(
        "incident declared",
        extra={"incident": incident.pk, "category": category.code, "severity": severity, "published": publish},
    )
    return incident


def incident_publish(*, incident_id: int, actor: User) -> Incident:
    """Make an internal incident public: the portal, the status page and its JSON show it
    from now on, its components take its impact, and the customers of its affected
    parcels are told, once each (as when parcels are linked to a public incident).

    Atomic; a second publish is refused with a conflict.
    """
    if not actor.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied(_("You may not publish incidents."))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.is_published:
            raise IncidentConflict(_("The incident is public already."))
        incident.published_at = timezone.now()
        incident.save(update_fields=["published_at", "updated_at"])
        component_statuses_recompute(
            component_ids=incident.component_impacts.values_list("component_id", flat=True),
            reason=f"{incident.reference} published",
        )
        _timeline(
            incident=incident,
            kind=UpdateKind.PUBLISHED,
            visibility=Visibility.PUBLIC,
            author=actor,
            body_zh=incident.summary_zh or incident.title_zh,
            body_en=incident.summary_en or incident.title_en,
        )
        if incident.is_open:
            incident_affected_customers_notify(incident=incident)
            merchants_announce_on_commit(incident=incident)
    logger.info("incident published", extra={"incident": incident.pk})
    return incident


def _set_component_impacts(incident: Incident, impacts: Mapping[int, str]) -> None:
    previous = set(incident.component_impacts.values_list("component_id", flat=True))
    incident.component_impacts.exclude(component_id__in=list(impacts)).delete()
    for component_id, impact in impacts.items():
        IncidentComponent.objects.update_or_create(
            incident=incident, component_id=component_id, defaults={"impact": impact}
        )
    component_statuses_recompute(component_ids=previous | set(impacts), reason=f"{incident.reference}")


def incident_set_components(*, incident_id: int, actor: User, impacts: Mapping[int, str]) -> None:
    """Replace the incident's affected components and their impact; statuses follow at once."""
    if not actor.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied(_("You may not command incidents."))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        _set_component_impacts(incident, impacts)
        names = ", ".join(str(component) for component in incident.components.order_by("pk"))
        _timeline(
            incident=incident,
            kind=UpdateKind.UPDATE,
            visibility=Visibility.INTERNAL,
            author=actor,
            body_zh=f"受影响组件:{names or '无'}",
            body_en=f"Affected components: {names or 'none'}",
        )


def incident_transition(
    *,
    incident_id: int,
    action: str,
    actor: User,
    body_zh: str = "",
    body_en: str = "",
    visibility: str | None = None,
    notify_customers: bool | None = None,
    sms: bool | None = None,
    email: bool | None = None,
) -> Incident:
    """Move the incident along its lifecycle and write the timeline row.

    Locks the incident row first, so of two concurrent transitions one wins and
    the other gets ``IncidentError`` naming the state it found. Permission and
    conditions come from the transition on the model.
    """
    if action not in TRANSITIONS:
        raise IncidentError(_("Unknown action “%(action)s”.") % {"action": action})
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        method = getattr(incident, action)
        if not can_proceed(method, check_conditions=False):
            raise IncidentConflict(
                _("The incident is %(status)s now; it cannot be moved with “%(action)s”.")
                % {"status": incident.get_status_display(), "action": action}
            )
        if not method._django_fsm.has_transition_perm(incident, incident.status, actor):
            raise PermissionDenied(_("You may not %(action)s this incident.") % {"action": action})
        if not can_proceed(method):
            raise IncidentError(
                _("Closing needs the post-incident review: root cause, measures taken and improvements.")
            )
        previous = incident.status
        method()
        _stamp_milestones(incident, action)
        incident.save()
        if action in ("resolve", "reopen"):
            component_statuses_recompute(
                component_ids=incident.component_impacts.values_list("component_id", flat=True),
                reason=f"{incident.reference} {action}",
            )
        public = action in PUBLIC_BY_DEFAULT if visibility is None else visibility == Visibility.PUBLIC
        _timeline(
            incident=incident,
            kind=UpdateKind.TRANSITION,
            visibility=Visibility.PUBLIC if public else Visibility.INTERNAL,
            author=actor,
            from_status=previous,
            body_zh=body_zh,
            body_en=body_en,
            notify_customers=(action == "resolve") if notify_customers is None else notify_customers,
            sms=sms,
            email=email,
        )
    logger.info(
        "incident transition",
        extra={"incident": incident.pk, "action": action, "from_status": previous, "to_status": incident.status},
    )
    return incident


def _stamp_milestones(incident: Incident, action: str) -> None:
    now = timezone.now()
    if action in ("acknowledge", "investigate") and incident.acknowledged_at is None:
        incident.acknowledged_at = now
        if incident.response_due_at is not None:
            incident.response_met = now <= incident.response_due_at
    elif action == "monitor" and incident.mitigated_at is None:
        incident.mitigated_at = now
    elif action == "resolve":
        incident.resolved_at = now
        if incident.mitigated_at is None:
            incident.mitigated_at = now
        if incident.recovery_due_at is not None:
            incident.recovery_met = now <= incident.recovery_due_at
    elif action == "close":
        incident.closed_at = now
    elif action == "reopen":
        incident.resolved_at = None
        incident.recovery_met = False if incident.recovery_due_at and now > incident.recovery_due_at else None


def incident_note_alert(*, incident_id: int, author: User | None, body_zh: str, body_en: str) -> None:
    """An internal timeline row about monitoring's alerts (fired, resolved): staff read it
    on the desk; it changes nothing else and reaches no one outside. Monitoring writes
    it on the incidents its alerts belong to, whoever runs them."""
    _timeline(
        incident=Incident.objects.get(pk=incident_id),
        kind=UpdateKind.ALERT,
        visibility=Visibility.INTERNAL,
        author=author,
        body_zh=body_zh,
        body_en=body_en,
    )


class _Unset(enum.Enum):
    UNSET = enum.auto()


_UNSET = _Unset.UNSET  # "not given", where None means "no estimate"


def incident_post_update(
    *,
    incident_id: int,
    actor: User,
    body_zh: str,
    body_en: str = "",
    visibility: str = Visibility.PUBLIC,
    notify_customers: bool | None = None,
    estimated_recovery_at: datetime | Literal[_Unset.UNSET] | None = _UNSET,
    sms: bool | None = None,
    email: bool | None = None,
) -> IncidentUpdate:
    """Add a timeline entry; with ``estimated_recovery_at`` it also moves the public estimate.

    Public entries notify customers by default (an estimate change always
    counts as one); internal entries never do. A public entry on an internal
    incident is refused: publish the incident first.
    """
    if not actor.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied(_("You may not command incidents."))
    if not body_zh.strip():
        raise IncidentError(_("Write the update in Chinese at least."))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.status == IncidentStatus.CLOSED:
            raise IncidentError(_("The incident is closed; declare a new incident for new trouble."))
        if visibility == Visibility.PUBLIC and not incident.is_published:
            raise IncidentError(_("The incident is internal: publish it before posting public updates."))
        kind = UpdateKind.UPDATE
        if estimated_recovery_at is not _UNSET and estimated_recovery_at != incident.estimated_recovery_at:
            incident.estimated_recovery_at = estimated_recovery_at
            incident.save(update_fields=["estimated_recovery_at", "updated_at"])
            kind = UpdateKind.ESTIMATE
        return _timeline(
            incident=incident,
            kind=kind,
            visibility=visibility,
            author=actor,
            body_zh=body_zh,
            body_en=body_en,
            notify_customers=True if notify_customers is None else notify_customers,
            sms=sms,
            email=email,
        )
