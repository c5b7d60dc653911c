"""Asking for compensation, the supervisor's decision, and issuing what was approved."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from compensation.models import CompensationRequest, Coupon, CouponSource, RequestKind, RequestStatus
from compensation.rules import compensation_issue, compensation_preview
from core.errors import ConflictError, DomainError
from notifications.models import EventType
from notifications.outbox import CustomerMessage, EventKey, customers_message, queue_on_commit

logger = logging.getLogger(__name__)
APPROVE_PERMISSION = "compensation.approve_compensation"
# Coupons told to their customers per batch of notification rows.
NOTIFY_BATCH = 2000


class CompensationError(DomainError):
    pass


def _require(actor: AbstractBaseUser, permission: str, refusal: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied(refusal)


def compensation_request_incident(*, incident: Any, actor: AbstractBaseUser) -> CompensationRequest:
    """Ask to issue the incident's rule coupons. Within COMPENSATION_APPROVAL_TOTAL,
    or asked by a supervisor, it is approved at once and a worker issues it."""
    _require(actor, "compensation.add_compensationrequest", _("You may not ask for compensation."))
    _lines, orders, cost = compensation_preview(incident=incident)
    if not orders:
        raise CompensationError(
            _("No affected order earns a coupon under this incident's rules, or all have theirs already.")
        )
    with transaction.atomic():
        request = CompensationRequest.objects.create(
            kind=RequestKind.INCIDENT_RULES, incident=incident, orders=orders, cost=cost, requested_by=actor
        )
        if cost <= settings.COMPENSATION_APPROVAL_TOTAL or actor.has_perm(APPROVE_PERMISSION):
            _approve(request, actor)
    return request


def compensation_goodwill(
    *, complaint: Any, actor: AbstractBaseUser, value: Decimal, note: str = ""
) -> CompensationRequest:
    """A goodwill coupon from a complaint: issued at once within the agent's limit,
    otherwise it waits for a supervisor."""
    _require(actor, "compensation.add_compensationrequest", _("You may not give goodwill coupons."))
    if value <= 0:
        raise CompensationError(_("A coupon is worth something."))
    with transaction.atomic():
        request = CompensationRequest.objects.create(
            kind=RequestKind.GOODWILL, complaint=complaint, orders=1, cost=value, note=note[:200], requested_by=actor
        )
        if value <= settings.COMPENSATION_AGENT_LIMIT or actor.has_perm(APPROVE_PERMISSION):
            _approve(request, actor)
    request.refresh_from_db()
    return request


def compensation_decide(*, request_id: int, actor: AbstractBaseUser, approve: bool) -> CompensationRequest:
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


def _approve(request: CompensationRequest, actor: AbstractBaseUser) -> None:
    from compensation.tasks import issue_compensation

    request.status, request.decided_by, request.decided_at = RequestStatus.APPROVED, actor, timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    if request.kind == RequestKind.GOODWILL:
        compensation_request_issue(request_id=request.pk)
    else:
        transaction.on_commit(lambda: issue_compensation.delay(request.pk))


def compensation_request_issue(*, request_id: int) -> int:
    """Issue an approved request's coupons and tell the customers; returns how many.

    Idempotent: only the caller that moves the request from approved to issuing
    issues, and incident coupons are once per order anyway. A large incident issue
    commits batch by batch and keeps ``issued`` current, which the incident page
    shows as progress; a run cut off midway is finished by running the job again
    (the request stays "issuing" and the next run adds only what is missing).
    """
    with transaction.atomic():
        request = (
            CompensationRequest.objects.select_for_update(of=("self",))
            .select_related("complaint__customer", "complaint__order", "incident")
            .get(pk=request_id)
        )
        if request.status not in (RequestStatus.APPROVED, RequestStatus.ISSUING):
            return 0
        if request.kind == RequestKind.GOODWILL:
            coupon = _goodwill_coupon(request)
            request.status, request.issued = RequestStatus.ISSUED, 1
            request.save(update_fields=["status", "issued"])
            _tell_customers([coupon])
            return 1
        request.status = RequestStatus.ISSUING
        request.save(update_fields=["status"])

    def progress(added: int) -> None:
        CompensationRequest.objects.filter(pk=request.pk).update(issued=F("issued") + added)

    issued = compensation_issue(incident=request.incident, actor=request.decided_by, on_batch=progress)
    rule_coupons = Coupon.objects.filter(incident=request.incident, source=CouponSource.INCIDENT_RULE).select_related(
        "customer"
    )
    with transaction.atomic():
        # Coupons already told are skipped by the outbox's unique key.
        _tell_customers(list(rule_coupons.order_by("pk")))
        CompensationRequest.objects.filter(pk=request.pk).update(status=RequestStatus.ISSUED)
    logger.info("compensation issued", extra={"request": request.pk, "coupons": issued})
    return issued


def _goodwill_coupon(request: CompensationRequest) -> Coupon:
    now = timezone.now()
    return Coupon.objects.create(
        customer=request.complaint.customer,
        value=request.cost,
        valid_from=now,
        valid_until=now + timedelta(days=settings.GOODWILL_VALID_DAYS),
        source=CouponSource.COMPLAINT,
        reason=request.note or request.complaint.reference,
        issued_by=request.decided_by,
        complaint=request.complaint,
        order=request.complaint.order,
    )


def _tell_customers(coupons: list[Coupon]) -> None:
    """Each customer hears their code by SMS and email; already told coupons are skipped
    by the outbox's key. Queued once the caller's transaction commits."""
    since = timezone.now()
    for start in range(0, len(coupons), NOTIFY_BATCH):
        customers_message(
            event_type=EventType.COMPENSATION_ISSUED,
            messages=[
                CustomerMessage(
                    customer=coupon.customer,
                    event_key=EventKey.coupon_issued(coupon.pk),
                    context={
                        "coupon_code": coupon.code,
                        "coupon_value": f"{coupon.value:g}",
                        "coupon_valid_until": f"{timezone.localtime(coupon.valid_until):%Y-%m-%d}",
                    },
                )
                for coupon in coupons[start : start + NOTIFY_BATCH]
            ],
        )
    if coupons:
        queue_on_commit(event_type=EventType.COMPENSATION_ISSUED, since=since)
