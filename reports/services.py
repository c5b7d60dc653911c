"""Writes for follow-up items: mark one done, remind owners once a day."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.outbox import EventKey, staff_alert
from reports.models import FollowUp

logger = logging.getLogger(__name__)

# Owners hear about an item from this many days before its due date, daily, until it is done.
REMIND_DAYS_BEFORE_DUE = 3


def follow_up_complete(*, follow_up_id: int, actor: User, now: datetime | None = None) -> bool:
    """Mark the item done (its owner, or anyone who may change follow-up items).
    Idempotent: returns False when it was done already."""
    follow_up = FollowUp.objects.get(pk=follow_up_id)
    if follow_up.owner_id != actor.pk and not actor.has_perm("reports.change_followup"):
        raise PermissionDenied(_("Only its owner or an incident manager may mark this item done."))
    return bool(FollowUp.objects.filter(pk=follow_up_id, done_at__isnull=True).update(done_at=now or timezone.now()))


def follow_up_reminders_send(*, today: date | None = None) -> int:
    """Email each owner one digest of their open items due within ``REMIND_DAYS_BEFORE_DUE``
    days or overdue; returns how many items were reminded.

    Once a day per item, with any number of concurrent runs: one conditional
    ``UPDATE … WHERE reminded_on IS NULL OR reminded_on < today RETURNING`` claims
    each item for exactly one run, and the digests are written to the outbox in the
    same transaction (retried there until sent).
    """
    today = today or timezone.localdate()
    claimed = list(
        FollowUp.objects.filter(done_at__isnull=True, due_on__lte=today + timedelta(days=REMIND_DAYS_BEFORE_DUE))
        .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today))
        .values_list("pk", flat=True)
    )
    if not claimed:
        return 0
    with transaction.atomic():
        # The claim: rows another run stamped meanwhile no longer match the condition.
        rows = FollowUp.objects.raw(
            "UPDATE reports_followup SET reminded_on = %s "
            "WHERE id = ANY(%s) AND done_at IS NULL AND (reminded_on IS NULL OR reminded_on < %s) "
            "RETURNING id, reminded_on",
            [today, claimed, today],
        )
        mine = [row.pk for row in rows]
        items = FollowUp.objects.filter(pk__in=mine).select_related("owner", "incident").order_by("due_on", "pk")
        by_owner: dict[int, list[FollowUp]] = defaultdict(list)
        for item in items:
            by_owner[item.owner_id].append(item)
        reminded = 0
        for owner_items in by_owner.values():
            owner = owner_items[0].owner
            if not owner.email:
                logger.warning("follow-up owner has no email", extra={"user": owner.pk})
                continue
            _send_digest(owner, owner_items, today)
            reminded += len(owner_items)
    return reminded


def _send_digest(owner: User, items: list[FollowUp], today: date) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        lines = []
        for item in items:
            state = _("overdue") if item.due_on < today else _("due")
            lines.append(f"- {item.incident.reference} {item.title} ({state} {item.due_on:%Y-%m-%d})")
        subject = _("Follow-up items waiting for you: %(count)d") % {"count": len(items)}
        body = "\n".join(
            [
                _("These improvements from post-incident reviews are yours and not done yet:"),
                "",
                *lines,
                "",
                f"{settings.PUBLIC_BASE_URL}/admin/reports/followup/?owner__id__exact={items[0].owner_id}&done=no",
            ]
        )
    staff_alert(
        users=[owner], event_key=EventKey.staff("follow-ups", f"{owner.pk}:{today:%Y%m%d}"), subject=subject, body=body
    )
