"""Asking for compensation, the supervisor's decision, and issuing what was approved."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from compensation.models import (
    APPROVED_REQUEST_STATUSES,
    CompensationRequest,
    Coupon,
    CouponSource,
    RequestKind,
    RequestStatus,
)
from compensation.rules import compensation_issue, compensation_plan
from compensation.services import coupons_tell_customers
from complaints.models import ComplaintStatus
from core.errors import ConflictError, DomainError
from core.queue import enqueue_on_commit
from core.roles import INCIDENT_MANAGER
from customers.models import Customer
from incidents.models import Incident
from notifications.outbox import EventKey, staff_alert

logger = logging.getLogger(__name__)
APPROVE_PERMISSION = "compensation.approve_compensation"
# Ask for an incident's rule coupons: the people who command incidents, not agents
# (who hold add_compensationrequest for goodwill coupons only).
COMPENSATE_PERMISSION = "compensation.request_incident_compensation"
# The largest goodwill coupon anyone may ask for, supervisors included.
GOODWILL_MAX_VALUE = Decimal("5000")


class CompensationError(DomainError):
    pass


def _require(actor: User, permission: str, refusal: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied(refusal)


def _incident_approved_total(incident: Any) -> Decimal:
    approved = CompensationRequest.objects.filter(
        incident=incident, kind=RequestKind.INCIDENT_RULES, status__in=APPROVED_REQUEST_STATUSES
    ).aggregate(total=Sum("cost"))["total"]
    return approved or Decimal("0")


def compensation_request_incident(*, incident: Any, actor: User) -> CompensationRequest:
    """Ask to issue the incident's rule coupons for the orders not paid or asked for yet.

    The orders and values are fixed now (the plan) and issuing pays exactly them.
    Approved at once when the incident's approved total, this request included, stays
    within COMPENSATION_APPROVAL_TOTAL, or when a supervisor asks; otherwise a
    supervisor decides. The incident row is locked, so two requests never plan the
    same order and linking in slices cannot walk past the limit.
    """
    _require(actor, COMPENSATE_PERMISSION, _("You may not ask for an incident's compensation."))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        request = CompensationRequest.objects.create(
            kind=RequestKind.INCIDENT_RULES, incident=incident, orders=0, cost=Decimal("0"), requested_by=actor
        )
        orders, cost = compensation_plan(request=request)
        if not orders:
            raise CompensationError(
                _("No affected order earns a coupon under this incident's rules, or all have theirs already.")
            )
        request.orders, request.cost = orders, cost
        request.save(update_fields=["orders", "cost"])
        if _incident_approved_total(incident) + cost <= settings.COMPENSATION_APPROVAL_TOTAL or actor.has_perm(
            APPROVE_PERMISSION
        ):
            _approve(request, actor)
    return request


@dataclass(frozen=True)
class GoodwillTotals:
    """Goodwill already given or asked for (not rejected): on this complaint, and to
    this customer over the last GOODWILL_PERIOD_DAYS."""

    complaint: Decimal
    customer: Decimal


def goodwill_totals(*, complaint: Any, now: Any = None) -> GoodwillTotals:
    now = now or timezone.now()
    given = CompensationRequest.objects.filter(kind=RequestKind.GOODWILL).exclude(status=RequestStatus.REJECTED)
    totals = given.filter(complaint__customer_id=complaint.customer_id).aggregate(
        complaint=Sum("cost", filter=Q(complaint_id=complaint.pk)),
        customer=Sum("cost", filter=Q(requested_at__gte=now - timedelta(days=settings.GOODWILL_PERIOD_DAYS))),
    )
    return GoodwillTotals(complaint=totals["complaint"] or Decimal("0"), customer=totals["customer"] or Decimal("0"))


def compensation_goodwill(*, complaint: Any, actor: User, value: Decimal, note: str = "") -> CompensationRequest:
    """A goodwill coupon from an open complaint.

    Issued at once within the agent's limit per coupon and the caps per complaint
    (GOODWILL_COMPLAINT_LIMIT) and per customer per period (GOODWILL_CUSTOMER_LIMIT
    over GOODWILL_PERIOD_DAYS); above any of them a supervisor decides (a supervisor's
    own request is that decision). The customer's row is locked, so two agents at
    once cannot both stay under a cap together.
    """
    _require(actor, "compensation.add_compensationrequest", _("You may not give goodwill coupons."))
    if not value.is_finite() or value <= 0:
        raise CompensationError(_("A coupon is worth something."))
    if value > GOODWILL_MAX_VALUE:
        raise CompensationError(_("A goodwill coupon is worth at most ¥%(limit)s.") % {"limit": GOODWILL_MAX_VALUE})
    if complaint.status == ComplaintStatus.CLOSED:
        raise CompensationError(_("The complaint is closed; goodwill goes with an open complaint."))
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=complaint.customer_id)
        totals = goodwill_totals(complaint=complaint)
        within_caps = (
            value <= settings.COMPENSATION_AGENT_LIMIT
            and totals.complaint + value <= settings.GOODWILL_COMPLAINT_LIMIT
            and totals.customer + value <= settings.GOODWILL_CUSTOMER_LIMIT
        )
        request = CompensationRequest.objects.create(
            kind=RequestKind.GOODWILL, complaint=complaint, orders=1, cost=value, note=note[:200], requested_by=actor
        )
        if within_caps or actor.has_perm(APPROVE_PERMISSION):
            _approve(request, actor)
    request.refresh_from_db()
    return request


def compensation_decide(*, request_id: int, actor: User, approve: bool) -> CompensationRequest:
    """A supervisor approves or rejects a pending request; the decision is recorded."""
    _require(actor, APPROVE_PERMISSION, _("Only a supervisor may decide on compensation above the limits."))
    with transaction.atomic():
        request = CompensationRequest.objects.select_for_update().get(pk=request_id)
        if request.status != RequestStatus.PENDING_APPROVAL:
            raise ConflictError(
                _("This request was already decided: %(status)s.") % {"status": request.get_status_display()}
            )
        if approve:
            _approve(request, actor)
            request.refresh_from_db()
        else:
            request.status, request.decided_by, request.decided_at = RequestStatus.REJECTED, actor, timezone.now()
            request.save(update_fields=["status", "decided_by", "decided_at"])
    return request


def _approve(request: CompensationRequest, actor: User) -> None:
    request.status, request.decided_by, request.decided_at = RequestStatus.APPROVED, actor, timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    if request.kind == RequestKind.GOODWILL:
        compensation_request_issue(request_id=request.pk)
    else:
        _queue_issue(request.pk)


def _queue_issue(request_id: int) -> None:
    enqueue_on_commit("compensation.tasks.issue_compensation", request_id)


def compensation_request_resume(*, request_id: int, actor: User) -> bool:
    """Issue again a request that failed or whose worker died while issuing; returns
    whether it was queued. Only what is still missing is issued."""
    _require(actor, COMPENSATE_PERMISSION, _("You may not issue an incident's compensation."))
    with transaction.atomic():
        resumed = CompensationRequest.objects.filter(
            pk=request_id, kind=RequestKind.INCIDENT_RULES, status__in=[RequestStatus.FAILED, RequestStatus.ISSUING]
        ).update(status=RequestStatus.APPROVED, error="")
        if resumed:
            _queue_issue(request_id)
    return bool(resumed)


def compensation_request_issue(*, request_id: int) -> int:
    """Issue an approved request's coupons and tell the customers; returns how many.

    Idempotent: only a request approved (or issuing, after a worker died) is issued,
    and incident coupons are once per order anyway. An incident issue pays exactly its
    plan, commits batch by batch with each batch's messages, and keeps ``issued``
    current, which the incident page shows as progress. If it fails the request says
    so ("failed", with the error), shown in the admin, where it can be resumed.
    """
    with transaction.atomic():
        request = (
            CompensationRequest.objects.select_for_update(of=("self",))
            .select_related("complaint__customer", "complaint__order", "incident", "decided_by")
            .get(pk=request_id)
        )
        if request.status not in (RequestStatus.APPROVED, RequestStatus.ISSUING):
            return 0
        if request.kind == RequestKind.GOODWILL:
            coupon = _goodwill_coupon(request)
            request.status, request.issued = RequestStatus.ISSUED, 1
            request.save(update_fields=["status", "issued"])
            coupons_tell_customers(coupons=[coupon])
            return 1
        request.status = RequestStatus.ISSUING
        request.save(update_fields=["status"])

    def progress(added: int) -> None:
        CompensationRequest.objects.filter(pk=request.pk).update(issued=F("issued") + added)

    try:
        issued = compensation_issue(request=request, on_batch=progress)
    except Exception as error:
        CompensationRequest.objects.filter(pk=request.pk).update(
            status=RequestStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000]
        )
        logger.exception("compensation issue failed", extra={"request": request.pk})
        raise
    with transaction.atomic():
        CompensationRequest.objects.filter(pk=request.pk).update(status=RequestStatus.ISSUED)
        staff_alert(
            users=[user for user in (request.requested_by, request.decided_by) if user is not None],
            event_key=EventKey.staff("compensation-issued", str(request.pk)),
            subject=f"[{request.rules_incident.reference}] 补偿已发放 / compensation issued: {issued}",
            body=(
                f"{request.rules_incident.reference} {request.rules_incident.title_zh}\n"
                f"Coupons issued: {issued}\n"
                f"{settings.PUBLIC_BASE_URL}/admin/incidents/incident/{request.incident_id}/change/\n"
            ),
            roles=[INCIDENT_MANAGER],
            category_id=request.rules_incident.category_id,
        )
    logger.info("compensation issued", extra={"request": request.pk, "coupons": issued})
    return issued


def _goodwill_coupon(request: CompensationRequest) -> Coupon:
    now = timezone.now()
    return Coupon.objects.create(
        customer=request.goodwill_complaint.customer,
        value=request.cost,
        valid_from=now,
        valid_until=now + timedelta(days=settings.GOODWILL_VALID_DAYS),
        source=CouponSource.COMPLAINT,
        reason=request.note or request.goodwill_complaint.reference,
        issued_by=request.decided_by,
        complaint=request.goodwill_complaint,
        order=request.goodwill_complaint.order,
    )
