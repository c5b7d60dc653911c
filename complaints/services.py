"""Writes for complaints: file, assign, reply, hear back, and the 24-hour clock.

The clock is a ``ReplyDeadline`` row: opened when a complaint is filed or the
customer writes back, closed by a public reply (never by an internal note).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import Complaint, ComplaintMessage, ComplaintStatus, MessageKind, ReplyDeadline
from core.errors import ConflictError, DomainError
from core.roles import CUSTOMER_SERVICE_AGENT, SUPERVISOR
from customers.models import Customer
from incidents.models import OPEN_STATUSES, AffectedOrder
from notifications.models import FINAL_STATUSES, Notification, WebhookEvent
from notifications.models import Status as NotificationStatus
from notifications.outbox import EventKey, customer_message, staff_alert, webhook_publish_now
from orders.models import Order

logger = logging.getLogger(__name__)
# Unambiguous for reading aloud on the phone: no 0/O, 1/I/L.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class ComplaintError(DomainError):
    pass


class ComplaintConflict(ComplaintError, ConflictError):
    pass


def reply_window(reason: str) -> timedelta:
    return timedelta(hours=settings.COMPLAINT_REPLY_HOURS_BY_REASON.get(reason, settings.COMPLAINT_REPLY_HOURS))


def _new_reference(now: datetime) -> str:
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"TS{timezone.localtime(now):%y%m%d}{suffix}"


def _open_incident_of(order: Order | None) -> Any:
    if order is None:
        return None

    link = (
        AffectedOrder.objects.filter(order=order, incident__status__in=OPEN_STATUSES)
        .select_related("incident")
        .order_by("-incident__reported_at")
        .first()
    )
    return link.incident if link else None


def _open_clock(complaint: Complaint, now: datetime) -> None:
    if complaint.deadlines.filter(answered_at__isnull=True).exists():
        return  # a reply is already owed; the earlier, stricter deadline stands
    due = now + reply_window(complaint.reason)
    ReplyDeadline.objects.create(complaint=complaint, started_at=now, due_at=due)
    complaint.reply_due_at = due


def complaint_file(
    *,
    customer: Customer,
    reason: str,
    description: str,
    channel: str,
    order: Order | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> Complaint:
    """File a complaint and start its reply clock. The incident is set from the order
    when the order is affected by an open incident. Atomic."""
    if not description.strip():
        raise ComplaintError(_("Describe the problem, please."))
    if order is not None and order.customer_id != customer.pk:
        raise ComplaintError(_("This parcel belongs to another customer."))
    now = now or timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                complaint = Complaint.objects.create(
                    reference=_new_reference(now),
                    customer=customer,
                    order=order,
                    incident=_open_incident_of(order),
                    reason=reason,
                    description=description,
                    channel=channel,
                    created_at=now,
                )
                ComplaintMessage.objects.create(
                    complaint=complaint, kind=MessageKind.CUSTOMER, body=description, author=actor
                )
                _open_clock(complaint, now)
                complaint.save(update_fields=["reply_due_at"])
                _tell_customer(
                    complaint, event_type="complaint_received", event_key=EventKey.complaint_received(complaint.pk)
                )
            break
        except IntegrityError:
            continue  # the random reference collided; draw another
    else:
        raise ComplaintError(_("Could not file the complaint; try again."))
    logger.info("complaint filed", extra={"complaint": complaint.reference, "reason": reason, "channel": channel})
    return complaint


def complaint_private_url(complaint: Complaint) -> str:
    from django.urls import reverse

    return settings.PUBLIC_BASE_URL + reverse("complaint-detail", args=[complaint.access_token])


def _tell_customer(complaint: Complaint, *, event_type: str, event_key: str, reply_text: str = "") -> None:
    """By SMS and email, in the customer's language, through the outbox (after commit)."""
    customer_message(
        customer=complaint.customer,
        event_type=event_type,
        event_key=event_key,
        context={
            "complaint_reference": complaint.reference,
            "reply_text": reply_text,
            "link": complaint_private_url(complaint),
        },
    )


def _require_complaint_staff(actor: User, refusal: str) -> None:
    if not actor.has_perm("complaints.change_complaint"):
        raise PermissionDenied(refusal)


def _locked(complaint_id: int) -> Complaint:
    return Complaint.objects.select_for_update().get(pk=complaint_id)


def complaint_assign(*, complaint_id: int, assignee: User, actor: User) -> Complaint:
    _require_complaint_staff(actor, _("You may not assign complaints."))
    with transaction.atomic():
        complaint = _locked(complaint_id)
        if complaint.status == ComplaintStatus.CLOSED:
            raise ComplaintConflict(_("The complaint is closed."))
        complaint.assignee = assignee
        if complaint.status == ComplaintStatus.NEW:
            complaint.assign()
        complaint.save()
    return complaint


def complaint_reply(
    *, complaint_id: int, actor: User, body: str, internal: bool = False, now: datetime | None = None
) -> ComplaintMessage:
    """A public reply (sent to the customer, stops the clock) or an internal note (neither)."""
    _require_complaint_staff(actor, _("You may not answer complaints."))
    if not body.strip():
        raise ComplaintError(_("Write the reply first."))
    now = now or timezone.now()
    with transaction.atomic():
        complaint = _locked(complaint_id)
        if complaint.status == ComplaintStatus.CLOSED:
            raise ComplaintConflict(_("The complaint is closed."))
        message = ComplaintMessage.objects.create(
            complaint=complaint, kind=MessageKind.NOTE if internal else MessageKind.REPLY, body=body, author=actor
        )
        if internal:
            return message
        for deadline in complaint.deadlines.select_for_update().filter(answered_at__isnull=True):
            deadline.answered_at, deadline.met, deadline.reply = now, now <= deadline.due_at, message
            deadline.save(update_fields=["answered_at", "met", "reply"])
        complaint.reply_due_at = None
        complaint.first_response_at = complaint.first_response_at or now
        if complaint.assignee_id is None:
            complaint.assignee = actor
        if complaint.status in (ComplaintStatus.NEW, ComplaintStatus.ASSIGNED):
            complaint.await_customer()
        complaint.save()
        _tell_customer(
            complaint, event_type="complaint_reply", event_key=EventKey.complaint_reply(message.pk), reply_text=body
        )
    return message


def complaint_customer_message(*, complaint_id: int, body: str, now: datetime | None = None) -> ComplaintMessage:
    """The customer writes back: the complaint is theirs to hear about again within the window."""
    if not body.strip():
        raise ComplaintError(_("Write your message first."))
    now = now or timezone.now()
    with transaction.atomic():
        complaint = _locked(complaint_id)
        if complaint.status == ComplaintStatus.CLOSED:
            raise ComplaintConflict(_("This complaint is closed; file a new one, please."))
        message = ComplaintMessage.objects.create(complaint=complaint, kind=MessageKind.CUSTOMER, body=body)
        if complaint.status in (ComplaintStatus.AWAITING_CUSTOMER, ComplaintStatus.RESOLVED):
            complaint.customer_wrote_back()
        # A new owed reply starts unescalated; chasing a reply already overdue leaves it flagged.
        if not complaint.deadlines.filter(answered_at__isnull=True).exists():
            complaint.escalated = False
        _open_clock(complaint, now)
        complaint.save()
    return message


def complaint_resolve(*, complaint_id: int, actor: User) -> Complaint:
    _require_complaint_staff(actor, _("You may not resolve complaints."))
    with transaction.atomic():
        complaint = _locked(complaint_id)
        if complaint.deadlines.filter(answered_at__isnull=True).exists():
            raise ComplaintError(_("Reply to the customer before resolving: a reply is still owed."))
        if complaint.status not in (ComplaintStatus.NEW, ComplaintStatus.ASSIGNED, ComplaintStatus.AWAITING_CUSTOMER):
            raise ComplaintConflict(_("The complaint is %(status)s.") % {"status": complaint.get_status_display()})
        complaint.resolve()
        complaint.save()
    return complaint


# --- the 24-hour rule ------------------------------------------------------------------

# Deadlines handled per sweep transaction; the rest wait for the next minute.
SWEEP_BATCH = 500


def complaint_deadlines_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Beat, every minute: remind before the deadline, escalate and record the breach at it.

    Each fires once, however many sweeps run: rows are claimed with
    ``select_for_update(skip_locked=True)`` and stamped in the same transaction,
    and a stamped row is never picked again. Set-based, and its work is
    proportional to the deadlines due (a partial index on unanswered deadlines
    by due time), not to the number of complaints.
    """
    now = now or timezone.now()
    totals = {"reminded": 0, "escalated": 0}
    while True:
        batch = _sweep_batch(now)
        totals["reminded"] += batch["reminded"]
        totals["escalated"] += batch["escalated"]
        if batch["reminded"] < SWEEP_BATCH and batch["escalated"] < SWEEP_BATCH:
            break
    totals["undelivered"] = complaint_replies_delivery_check(now=now)
    return totals


def complaint_replies_delivery_check(*, now: datetime | None = None) -> int:
    """A reply in time counts only once it reached the customer on some channel.

    For replies answered in time whose messages have all ended, without one sent or
    delivered (SMS failed, no email address), the deadline becomes missed, the
    complaint is flagged and the supervisors hear of it. Replies with a message that
    got through are marked checked and never looked at again. Returns how many missed.
    """
    now = now or timezone.now()
    unchecked = list(
        ReplyDeadline.objects.filter(met=True, delivery_checked_at__isnull=True, reply__isnull=False)
        .select_related("complaint")
        .order_by("answered_at")[:SWEEP_BATCH]
    )
    if not unchecked:
        return 0
    keys = {
        EventKey.complaint_reply(deadline.reply_id): deadline
        for deadline in unchecked
        if deadline.reply_id is not None  # all of them: the query asked for a reply
    }
    statuses: dict[str, set[str]] = {}
    for event_key, status in Notification.objects.filter(event_key__in=list(keys)).values_list("event_key", "status"):
        statuses.setdefault(event_key, set()).add(status)
    reached, missed = [], []
    for event_key, deadline in keys.items():
        seen = statuses.get(event_key, set())
        if seen & {NotificationStatus.SENT, NotificationStatus.DELIVERED}:
            reached.append(deadline.pk)
        elif seen and seen <= set(FINAL_STATUSES):
            missed.append(deadline)
    with transaction.atomic():
        ReplyDeadline.objects.filter(pk__in=reached).update(delivery_checked_at=now)
        if missed:
            ReplyDeadline.objects.filter(pk__in=[deadline.pk for deadline in missed]).update(
                met=False, delivery_checked_at=now
            )
            Complaint.objects.filter(pk__in=[deadline.complaint_id for deadline in missed]).update(escalated=True)
            for deadline in missed:
                _escalation_publish(deadline, why="the reply reached the customer on no channel")
            _tell(
                _staff(SUPERVISOR),
                "undelivered",
                "投诉回复未送达客户 / replies that did not reach the customer",
                missed,
                now,
                role=SUPERVISOR,
            )
            logger.warning("complaint replies did not reach the customer", extra={"count": len(missed)})
    return len(missed)


def _sweep_batch(now: datetime) -> dict[str, int]:
    """One short transaction over at most SWEEP_BATCH deadlines of each kind."""
    with transaction.atomic():
        open_deadlines = ReplyDeadline.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            answered_at__isnull=True
        )
        due = list(
            open_deadlines.filter(escalated_at__isnull=True, due_at__lte=now)
            .select_related("complaint__assignee")
            .order_by("due_at")[:SWEEP_BATCH]
        )
        ReplyDeadline.objects.filter(pk__in=[deadline.pk for deadline in due]).update(escalated_at=now, met=False)
        Complaint.objects.filter(pk__in=[deadline.complaint_id for deadline in due]).update(escalated=True)
        for deadline in due:
            _escalation_publish(deadline, why="no reply within the deadline")
        soon = list(
            open_deadlines.filter(
                reminded_at__isnull=True, due_at__gt=now, due_at__lte=now + settings.COMPLAINT_REMINDER_BEFORE
            )
            .select_related("complaint__assignee")
            .order_by("due_at")[:SWEEP_BATCH]
        )
        ReplyDeadline.objects.filter(pk__in=[deadline.pk for deadline in soon]).update(reminded_at=now)
        if due:
            _tell(
                _staff(SUPERVISOR),
                "escalation",
                "投诉超过回复时限 / complaints not answered in time",
                due,
                now,
                role=SUPERVISOR,
            )
        by_assignee: dict[Any, list[ReplyDeadline]] = {}
        for deadline in soon:
            by_assignee.setdefault(deadline.complaint.assignee, []).append(deadline)
        for assignee, deadlines in by_assignee.items():
            recipients = [assignee] if assignee is not None and assignee.email else _staff(CUSTOMER_SERVICE_AGENT)
            _tell(
                recipients,
                "reminder",
                "投诉回复即将到期 / replies due soon",
                deadlines,
                now,
                role=CUSTOMER_SERVICE_AGENT,
            )
    if due or soon:
        logger.info("complaint deadlines swept", extra={"reminded": len(soon), "escalated": len(due)})
    return {"reminded": len(soon), "escalated": len(due)}


def _escalation_publish(deadline: ReplyDeadline, *, why: str) -> None:
    """``complaint.escalated`` to our own systems' webhook endpoints (no personal data)."""
    complaint = deadline.complaint
    webhook_publish_now(
        event=WebhookEvent.COMPLAINT_ESCALATED,
        reference=f"{deadline.pk}",
        data={
            "complaint": {
                "reference": complaint.reference,
                "reason": complaint.reason,
                "status": complaint.status,
                "incident_id": complaint.incident_id,
                "assignee": complaint.assignee.get_username() if complaint.assignee is not None else None,
            },
            "due_at": deadline.due_at,
            "why": why,
        },
    )


def _staff(group: str) -> list[Any]:
    return list(get_user_model().objects.filter(groups__name=group, is_active=True).exclude(email="").order_by("pk"))


def _tell(
    recipients: list[Any], kind: str, subject: str, deadlines: list[ReplyDeadline], now: datetime, *, role: str
) -> None:
    """One email per sweep and recipient, listing the complaints: a digest, not a flood.

    Written to the outbox in the sweep's transaction, so the stamps and the alert
    commit together and the alert is retried like any message until it is sent.
    """
    lines = [
        f"{deadline.complaint.reference} · {deadline.complaint.get_reason_display()} · due {timezone.localtime(deadline.due_at):%Y-%m-%d %H:%M} · "
        f"{settings.PUBLIC_BASE_URL}/admin/complaints/complaint/{deadline.complaint_id}/change/"
        for deadline in deadlines
    ]
    staff_alert(
        users=recipients,
        roles=[role],
        event_key=EventKey.staff(f"complaint-{kind}", f"{now:%Y%m%d%H%M%S}-{deadlines[0].pk}"),
        subject=f"{subject} ({len(deadlines)})",
        body="\n".join(lines) + "\n",
    )


def complaint_close(*, complaint_id: int, actor: User) -> Complaint:
    """Close a resolved complaint; after this the customer files a new one."""
    _require_complaint_staff(actor, _("You may not close complaints."))
    with transaction.atomic():
        complaint = _locked(complaint_id)
        if complaint.status != ComplaintStatus.RESOLVED:
            raise ComplaintConflict(
                _("Only a resolved complaint can be closed; it is %(status)s.")
                % {"status": complaint.get_status_display()}
            )
        complaint.close()
        complaint.save()
    return complaint
