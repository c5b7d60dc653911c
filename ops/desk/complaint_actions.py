"""The buttons of the complaint desk: reply, resolve, close, and a goodwill coupon."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from compensation.approvals import compensation_goodwill
from complaints.models import Complaint
from complaints.services import complaint_close, complaint_reply, complaint_resolve
from ops.desk.actions import DeskAction, Done, Outcome
from ops.desk.complaint_forms import GoodwillForm, ReplyForm

WORK = "complaints.change_complaint"
GOODWILL = ("complaints.change_complaint", "compensation.add_compensationrequest")


def reply(complaint: Complaint, actor: User, data: dict[str, Any]) -> Outcome:
    complaint_reply(complaint_id=complaint.pk, actor=actor, body=data["body"], internal=data["internal"])
    return Done(_("Note saved.") if data["internal"] else _("Reply saved; the clock is stopped."))


def resolve(complaint: Complaint, actor: User, data: dict[str, Any]) -> Outcome:
    complaint_resolve(complaint_id=complaint.pk, actor=actor)
    return Done(_("Resolved."))


def close(complaint: Complaint, actor: User, data: dict[str, Any]) -> Outcome:
    complaint_close(complaint_id=complaint.pk, actor=actor)
    return Done(_("Closed."))


def goodwill(complaint: Complaint, actor: User, data: dict[str, Any]) -> Outcome:
    request = compensation_goodwill(complaint=complaint, actor=actor, value=data["value"], note=data["note"])
    if request.status == "issued":
        return Done(_("Coupon issued; the customer is told by SMS and email."))
    return Done(_("Above your limit or the caps: a supervisor will decide."), level=messages.INFO)


COMPLAINT_ACTIONS: tuple[DeskAction[Complaint], ...] = (
    DeskAction("reply", (WORK,), reply, ReplyForm, "reply_form"),
    DeskAction("resolve", (WORK,), resolve),
    DeskAction("close", (WORK,), close),
    DeskAction("goodwill", GOODWILL, goodwill, GoodwillForm, "goodwill_form", "goodwill-%s", anchor="goodwill"),
)
