"""The buttons of the incident desk: each calls one service of the incidents app or of
compensation, and says in one line what happened."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from compensation.approvals import COMPENSATE_PERMISSION, compensation_request_incident
from incidents import linking
from incidents.models import LINK_PERMISSION, MANAGE_PERMISSION, Incident
from incidents.selectors import incident_link_preview
from incidents.services import incident_post_update, incident_publish, incident_transition
from ops.desk.actions import DeskAction, Done, Outcome, Shown
from ops.desk.incident_forms import (
    LinkCriteriaForm,
    ShiftForm,
    TrackingListForm,
    TransitionForm,
    UnlinkForm,
    UpdateForm,
)
from ops.selectors import TRANSITION_LABELS

# Items of each kind a list report shows (the counts are always whole).
REPORT_ROWS_SHOWN = 200


def transition(incident: Incident, actor: User, data: dict[str, Any]) -> Outcome:
    action = data.pop("action")
    incident_transition(incident_id=incident.pk, action=action, actor=actor, **data)
    return Done(_("Done: %(action)s.") % {"action": TRANSITION_LABELS.get(action, action)})


def post_update(incident: Incident, actor: User, data: dict[str, Any]) -> Outcome:
    if data["estimated_recovery_at"] == incident.estimated_recovery_at:
        data.pop("estimated_recovery_at")  # unchanged: not a new estimate
    incident_post_update(incident_id=incident.pk, actor=actor, **data)
    return Done(_("The update is posted."))


def publish(incident: Incident, actor: User, data: dict[str, Any]) -> Outcome:
    incident_publish(incident_id=incident.pk, actor=actor)
    return Done(_("Published: the portal shows the incident and its customers are told."))


def link_criteria(incident: Incident, actor: User, data: dict[str, Any]) -> Outcome:
    criteria = data["criteria"]
    if data["preview"]:
        preview = incident_link_preview(incident=incident, criteria=criteria)
        return Shown({"criteria_preview": preview})
    done = linking.incident_link_by_criteria(
        incident=incident, criteria=criteria, reason=data["reason"], estimate=data["estimate"], actor=actor
    )
    if done.job is not None:
        return Done(
            _("Linking %(count)d orders in the background; progress is shown below.")
            % {"count": done.job.total_orders},
            level=messages.INFO,
        )
    return Done(
        _("Linked %(linked)d new orders (%(already)d were already linked).")
        % {"linked": done.linked, "already": done.preview.already_linked}
    )


def link_list(incident: Incident, actor: User, data: dict[str, Any]) -> Outcome:
    report = linking.incident_link_tracking_numbers(
        incident=incident,
        tracking_numbers=data["numbers"],
        reason=data["reason"],
        estimate=data["estimate"],
        actor=actor,
    )
    shown = {
        "ok": report.ok,
        "total": report.total,
        "linked": report.linked,
        "problems": [
            (kind, len(rows), rows[:REPORT_ROWS_SHOWN])
            for kind in ("malformed", "unknown", "duplicates", "already_linked")
            if (rows := getattr(report, kind))
        ],
    }
    if report.ok:
        return Shown({"list_report": shown}, _("Linked %(linked)d orders from the list.") % {"linked": report.linked})
    return Shown(
        {"list_report": shown},
        _("Nothing was linked: fix the lines listed below and send the whole list again."),
        level=messages.ERROR,
    )


def shift(incident: Incident, actor: User, data: dict[str, Any]) -> Outcome:
    linking.incident_shift_estimates(incident=incident, actor=actor, delta=timedelta(hours=data["hours"]))
    return Done(_("Estimates moved."))


def unlink(incident: Incident, actor: User, data: dict[str, Any]) -> Outcome:
    linking.incident_unlink_orders(incident=incident, actor=actor, tracking_numbers=data["tracking_numbers"])
    return Done(_("Orders unlinked."))


def compensate(incident: Incident, actor: User, data: dict[str, Any]) -> Outcome:
    compensation_request_incident(incident=incident, actor=actor)
    return Done(_("Compensation requested: issued at once within the limit, otherwise a supervisor decides."))


INCIDENT_ACTIONS: tuple[DeskAction[Incident], ...] = (
    DeskAction("transition", (MANAGE_PERMISSION,), transition, TransitionForm, "transition_form", "transition_%s"),
    DeskAction(
        "post_update",
        (MANAGE_PERMISSION,),
        post_update,
        UpdateForm,
        "update_form",
        "update_%s",
        anchor="timeline",
        initial=lambda incident: {"estimated_recovery_at": incident.estimated_recovery_at},
    ),
    DeskAction("publish", (MANAGE_PERMISSION,), publish),
    DeskAction(
        "link_criteria",
        (LINK_PERMISSION,),
        link_criteria,
        LinkCriteriaForm,
        "criteria_form",
        "criteria_%s",
        anchor="affected-orders",
    ),
    DeskAction(
        "link_list", (LINK_PERMISSION,), link_list, TrackingListForm, "list_form", "list_%s", anchor="affected-orders"
    ),
    DeskAction("shift", (MANAGE_PERMISSION,), shift, ShiftForm, "shift_form", "shift_%s", anchor="affected-orders"),
    DeskAction(
        "unlink", (MANAGE_PERMISSION,), unlink, UnlinkForm, "unlink_form", "unlink_%s", anchor="affected-orders"
    ),
    DeskAction("compensate", (COMPENSATE_PERMISSION,), compensate, anchor="compensation"),
)
