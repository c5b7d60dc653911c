"""What the desk pages show around their forms, read from every app they span."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from compensation.approvals import COMPENSATE_PERMISSION, GoodwillTotals, goodwill_totals
from compensation.models import CompensationRequest, Coupon
from compensation.selectors import RulePreview, compensation_preview, incident_compensation_cost
from complaints.models import CannedResponse, Complaint
from incidents.models import (
    LINK_PERMISSION,
    MANAGE_PERMISSION,
    AffectedOrder,
    Incident,
    IncidentUpdate,
    LinkJob,
    TargetAlert,
)
from incidents.selectors import affected_counts_by_reason
from incidents.services import TRANSITIONS
from orders.models import TrackingEvent

TRANSITION_LABELS: dict[str, Promise] = {
    "acknowledge": gettext_lazy("Acknowledge"),
    "investigate": gettext_lazy("Investigating"),
    "identify": gettext_lazy("Cause identified"),
    "monitor": gettext_lazy("Fix in place, monitoring"),
    "resolve": gettext_lazy("Resolve"),
    "close": gettext_lazy("Close with review"),
    "reopen": gettext_lazy("Reopen"),
}
TIMELINE_SHOWN = 50


@dataclass(frozen=True)
class TransitionButton:
    name: str
    label: Promise
    ready: bool  # False: allowed, but a condition (the review for closing) is not met yet


@dataclass(frozen=True)
class IncidentDesk:
    may_manage: bool
    may_link: bool
    may_compensate: bool
    transition_actions: Sequence[TransitionButton]
    affected_total: int
    affected_by_reason: Sequence[tuple[str, int]]
    link_jobs: Sequence[LinkJob]
    timeline: Sequence[IncidentUpdate]
    timeline_total: int
    alerts: QuerySet[TargetAlert]
    compensation_lines: tuple[list[RulePreview], int, Decimal]
    compensation_cost: dict[str, Any]
    compensation_requests: Sequence[CompensationRequest]


def incident_desk(*, incident: Incident, user: User) -> IncidentDesk:
    buttons = []
    for action in TRANSITIONS:
        method = getattr(incident, action)
        if can_proceed(method, check_conditions=False) and method._django_fsm.has_transition_perm(
            incident, incident.status, user
        ):
            buttons.append(TransitionButton(action, TRANSITION_LABELS[action], ready=can_proceed(method)))
    counts = affected_counts_by_reason(incident=incident)
    reason_labels = dict(AffectedOrder._meta.get_field("reason").choices or [])
    return IncidentDesk(
        may_manage=user.has_perm(MANAGE_PERMISSION),
        may_link=user.has_perm(LINK_PERMISSION),
        may_compensate=user.has_perm(COMPENSATE_PERMISSION),
        transition_actions=buttons,
        affected_total=sum(counts.values()),
        affected_by_reason=[
            (str(reason_labels.get(reason, reason)), count)
            for reason, count in sorted(counts.items(), key=lambda item: -item[1])
        ],
        link_jobs=list(incident.link_jobs.order_by("-created_at")[:3]),
        timeline=list(incident.updates.select_related("author").order_by("-created_at", "-id")[:TIMELINE_SHOWN]),
        timeline_total=incident.updates.count(),
        alerts=TargetAlert.objects.filter(incident=incident).order_by("-created_at"),
        compensation_lines=compensation_preview(incident=incident),
        compensation_cost=incident_compensation_cost(incident=incident),
        compensation_requests=list(
            incident.compensation_requests.select_related("requested_by", "decided_by").order_by("-requested_at")[:5]
        ),
    )


@dataclass(frozen=True)
class GoodwillLimits:
    coupon: Decimal
    complaint: Decimal
    customer: Decimal


@dataclass(frozen=True)
class ComplaintDesk:
    coupons: QuerySet[Coupon]
    goodwill_requests: QuerySet[CompensationRequest]
    goodwill_totals: GoodwillTotals
    goodwill_period_days: int
    goodwill_limits: GoodwillLimits
    canned_responses: QuerySet[CannedResponse]
    tracking_events: Sequence[TrackingEvent]


def complaint_desk(*, complaint: Complaint) -> ComplaintDesk:
    return ComplaintDesk(
        coupons=complaint.coupons.order_by("-created_at"),
        goodwill_requests=complaint.compensation_requests.filter(status="pending_approval"),
        goodwill_totals=goodwill_totals(complaint=complaint),
        goodwill_period_days=settings.GOODWILL_PERIOD_DAYS,
        goodwill_limits=GoodwillLimits(
            coupon=settings.COMPENSATION_AGENT_LIMIT,
            complaint=settings.GOODWILL_COMPLAINT_LIMIT,
            customer=settings.GOODWILL_CUSTOMER_LIMIT,
        ),
        canned_responses=CannedResponse.objects.all(),
        tracking_events=list(complaint.order.tracking_events.order_by("-occurred_at")[:10]) if complaint.order else [],
    )


def flattened(desk: IncidentDesk | ComplaintDesk) -> dict[str, Any]:
    """The dataclass's fields as template context (shallow: querysets stay lazy)."""
    return {item.name: getattr(desk, item.name) for item in fields(desk)}
