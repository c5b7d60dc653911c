"""Tie parcels to an incident in bulk: by criteria, by a list of tracking numbers, or undo.

Every write is one set-based statement (``INSERT … SELECT … ON CONFLICT DO
NOTHING``, ``UPDATE``, ``DELETE``) whatever the number of parcels, and linking
the same parcels twice adds nothing.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, IntegerField, Max, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from core.bulk import insert_from_select
from core.queue import enqueue_on_commit
from core.roles import INCIDENT_MANAGER
from incidents.criteria import Estimate, LinkCriteria
from incidents.errors import IncidentError
from incidents.messaging import (
    MERCHANTS_ESTIMATES_TASK,
    incident_affected_customers_notify,
    merchants_announce_on_commit,
)
from incidents.models import (
    LINK_PERMISSION,
    MANAGE_PERMISSION,
    AffectedOrder,
    AffectedReason,
    Incident,
    LinkJob,
    LinkJobState,
    UpdateKind,
    Visibility,
)
from incidents.selectors import LinkPreview, incident_link_preview, orders_matching
from incidents.services import _timeline
from notifications.outbox import EventKey, staff_alert
from orders.models import Order

logger = logging.getLogger(__name__)

# Above this many matching parcels a link runs as a Celery job with progress.
SYNCHRONOUS_LINK_LIMIT = 20_000
# Order ids per statement of a link job: one statement touches at most this many
# rows, keeping each transaction short and progress visible.
LINK_JOB_CHUNK_IDS = 100_000
# Largest pasted or uploaded list; its report is held in memory.
MAX_TRACKING_LIST = 50_000
_TRACKING_NUMBER = re.compile(r"^[A-Z0-9]{8,32}$")


def _check(actor: User, incident: Incident, permission: str = MANAGE_PERMISSION) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied(_("You may not change an incident's affected orders."))
    if not incident.is_open and incident.status != "resolved":
        raise IncidentError(_("The incident is closed; its affected orders are final."))


def _check_share(actor: User, orders: QuerySet[Order]) -> None:
    """A client system links within limits: a criteria link matching more than
    ``INTEGRATION_LINK_MAX_PERCENT`` of all parcels needs a person (a wrong filter
    from a script would tie the whole network to one incident)."""
    if actor.has_perm(MANAGE_PERMISSION):
        return
    limit = Order.objects.count() * settings.INTEGRATION_LINK_MAX_PERCENT / 100
    matching = orders.count()
    if matching > limit:
        raise PermissionDenied(
            _(
                "These criteria match %(matching)d parcels, more than %(percent)d%% of all parcels: "
                "a person must link them from the incident page."
            )
            % {"matching": matching, "percent": settings.INTEGRATION_LINK_MAX_PERCENT}
        )


def _link(orders: QuerySet[Order], *, incident: Incident, reason: str, estimate: Estimate, actor: User | None) -> int:
    select = orders.annotate(
        link_incident=Value(incident.pk, output_field=IntegerField()),
        link_reason=Value(reason),
        link_estimate=estimate.expression(),
        link_at=Value(timezone.now(), output_field=DateTimeField()),
        link_by=Cast(Value(actor.pk if actor else None), output_field=IntegerField()),
    ).values_list("link_incident", "id", "link_reason", "promised_delivery", "link_estimate", "link_at", "link_by")
    return insert_from_select(
        AffectedOrder,
        ["incident", "order", "reason", "original_promise", "new_estimate", "linked_at", "linked_by"],
        select,
        conflict_fields=["incident", "order"],
    )


def _notify(incident: Incident, notify: bool) -> None:
    # An internal incident tells nobody; publishing it tells its customers.
    if notify and incident.is_open and incident.is_published:
        incident_affected_customers_notify(incident=incident)
        merchants_announce_on_commit(incident=incident)


def incident_link_orders(
    *,
    incident: Incident,
    criteria: LinkCriteria,
    reason: str = AffectedReason.DELAYED,
    estimate: Estimate = Estimate(),
    actor: User,
    notify: bool = True,
) -> int:
    """Link every order matching ``criteria`` in one statement; returns how many were new.

    Atomic with its timeline row. For large sets use ``link_job_start``.
    """
    _check(actor, incident, LINK_PERMISSION)
    _check_share(actor, orders_matching(criteria))
    with transaction.atomic():
        linked = _link(orders_matching(criteria), incident=incident, reason=reason, estimate=estimate, actor=actor)
        _record(incident, actor, linked, _("by criteria"), _("by criteria"))
        _notify(incident, notify)
    logger.info("orders linked", extra={"incident": incident.pk, "linked": linked, "criteria": criteria.as_json()})
    return linked


def _record(incident: Incident, actor: User | None, linked: int, how_zh: str, how_en: str) -> None:
    _timeline(
        incident=incident,
        kind=UpdateKind.ORDERS,
        visibility=Visibility.INTERNAL,
        author=actor,
        body_zh=f"新关联受影响订单 {linked} 个({how_zh})。",
        body_en=f"Linked {linked} affected orders ({how_en}).",
    )


# --- a list of tracking numbers ---------------------------------------------------------


@dataclass
class ListReport:
    """The check of a pasted or uploaded list, line by line, before anything is written."""

    total: int = 0
    to_link: list[str] = field(default_factory=list)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    already_linked: list[tuple[int, str]] = field(default_factory=list)
    linked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.malformed or self.unknown)

    @property
    def to_link_count(self) -> int:
        return len(self.to_link)


class TrackingListError(IncidentError):
    pass


def tracking_list_parse(text: str) -> list[str]:
    """Tracking numbers from pasted text or a CSV file: one per line, first column,
    an optional header row naming ``tracking_number``. A field beyond the csv
    module's limit (128 KiB) is ``TrackingListError``, not a crash."""
    rows = csv.reader(io.StringIO(text.replace("\t", ",")))
    try:
        values = [row[0].strip() if row else "" for row in rows]
    except csv.Error as error:
        raise TrackingListError(
            _("The list could not be read (line %(line)d: %(error)s).") % {"line": rows.line_num, "error": error}
        ) from None
    if values and values[0].lower().replace(" ", "_") in {"tracking_number", "运单号"}:
        values = values[1:]
    return [value.upper() for value in values if value]


def tracking_list_check(*, incident: Incident, tracking_numbers: list[str]) -> ListReport:
    if len(tracking_numbers) > MAX_TRACKING_LIST:
        raise IncidentError(_("A list holds at most %(limit)d tracking numbers.") % {"limit": MAX_TRACKING_LIST})
    report = ListReport(total=len(tracking_numbers))
    seen: set[str] = set()
    candidates: list[tuple[int, str]] = []
    for line, number in enumerate(tracking_numbers, start=1):
        if not _TRACKING_NUMBER.match(number):
            report.malformed.append((line, number))
        elif number in seen:
            report.duplicates.append((line, number))
        else:
            seen.add(number)
            candidates.append((line, number))
    known = set(Order.objects.filter(tracking_number__in=seen).values_list("tracking_number", flat=True))
    linked = set(
        AffectedOrder.objects.filter(incident=incident, order__tracking_number__in=known).values_list(
            "order__tracking_number", flat=True
        )
    )
    for line, number in candidates:
        if number not in known:
            report.unknown.append((line, number))
        elif number in linked:
            report.already_linked.append((line, number))
        else:
            report.to_link.append(number)
    return report


def incident_link_tracking_numbers(
    *,
    incident: Incident,
    tracking_numbers: list[str],
    reason: str = AffectedReason.DELAYED,
    estimate: Estimate = Estimate(),
    actor: User,
    notify: bool = True,
) -> ListReport:
    """Check the list, then link it atomically — or, if any line is malformed or
    unknown, link nothing and return the report. Duplicates and parcels already
    linked are reported and skipped."""
    _check(actor, incident, LINK_PERMISSION)
    report = tracking_list_check(incident=incident, tracking_numbers=tracking_numbers)
    if not report.ok:
        return report
    with transaction.atomic():
        report.linked = _link(
            Order.objects.filter(tracking_number__in=report.to_link),
            incident=incident,
            reason=reason,
            estimate=estimate,
            actor=actor,
        )
        _record(incident, actor, report.linked, "按运单号清单", "from a tracking-number list")
        _notify(incident, notify)
    return report


def incident_unlink_orders(*, incident: Incident, actor: User, tracking_numbers: list[str] | None = None) -> int:
    """Remove affected orders: the listed ones, or all of them. One ``DELETE``."""
    _check(actor, incident)
    links = AffectedOrder.objects.filter(incident=incident)
    if tracking_numbers is not None:
        links = links.filter(order__tracking_number__in=[number.upper() for number in tracking_numbers])
    with transaction.atomic():
        removed, _details = links.delete()
        _timeline(
            incident=incident,
            kind=UpdateKind.ORDERS,
            visibility=Visibility.INTERNAL,
            author=actor,
            body_zh=f"取消关联受影响订单 {removed} 个。",
            body_en=f"Unlinked {removed} affected orders.",
        )
    return removed


def incident_shift_estimates(*, incident: Incident, actor: User, delta: timedelta) -> int:
    """Move every affected order's new estimate by ``delta`` (one ``UPDATE``); parcels
    without an estimate get their original promise plus ``delta``."""
    _check(actor, incident)
    from django.db.models.functions import Coalesce

    with transaction.atomic():
        shifted = AffectedOrder.objects.filter(incident=incident).update(
            new_estimate=ExpressionWrapper(
                Coalesce("new_estimate", "original_promise") + Value(delta), output_field=DateTimeField()
            )
        )
        hours = delta.total_seconds() / 3600
        update = _timeline(
            incident=incident,
            kind=UpdateKind.ORDERS,
            visibility=Visibility.INTERNAL,
            author=actor,
            body_zh=f"{shifted} 个受影响订单的预计送达时间调整 {hours:+g} 小时。",
            body_en=f"Moved the estimate of {shifted} affected orders by {hours:+g} h.",
        )
        if incident.is_published:
            enqueue_on_commit(MERCHANTS_ESTIMATES_TASK, incident.pk, update.pk)
    return shifted


@dataclass(frozen=True)
class CriteriaLink:
    """What ``incident_link_by_criteria`` did: linked ``linked`` orders now, or started ``job``."""

    preview: LinkPreview
    linked: int = 0
    job: LinkJob | None = None


def incident_link_by_criteria(
    *,
    incident: Incident,
    criteria: LinkCriteria,
    reason: str = AffectedReason.DELAYED,
    estimate: Estimate = Estimate(),
    actor: User,
) -> CriteriaLink:
    """Link the orders matching ``criteria`` now, or, when more than
    ``SYNCHRONOUS_LINK_LIMIT`` match, in a background job (``link_job_start``)."""
    preview = incident_link_preview(incident=incident, criteria=criteria)
    if preview.matching > SYNCHRONOUS_LINK_LIMIT:
        job = link_job_start(incident=incident, criteria=criteria, reason=reason, estimate=estimate, actor=actor)
        return CriteriaLink(preview=preview, job=job)
    linked = incident_link_orders(incident=incident, criteria=criteria, reason=reason, estimate=estimate, actor=actor)
    return CriteriaLink(preview=preview, linked=linked)


# --- large links as a job ---------------------------------------------------------------


def link_job_start(
    *,
    incident: Incident,
    criteria: LinkCriteria,
    reason: str = AffectedReason.DELAYED,
    estimate: Estimate = Estimate(),
    actor: User,
    notify: bool = True,
) -> LinkJob:
    """Record a link job and queue it after commit; the admin polls its progress."""
    _check(actor, incident, LINK_PERMISSION)
    orders = orders_matching(criteria)
    _check_share(actor, orders)
    job = LinkJob.objects.create(
        incident=incident,
        criteria={
            "criteria": criteria.as_json(),
            "reason": reason,
            "delay_seconds": estimate.delay.total_seconds() if estimate.delay is not None else None,
            "fixed": estimate.fixed.isoformat() if estimate.fixed else None,
            "notify": notify,
        },
        total_orders=orders.count(),
        max_order_id=Order.objects.aggregate(top=Max("id"))["top"] or 0,
        created_by=actor,
    )
    enqueue_on_commit("incidents.tasks.run_link_job", job.pk)
    return job


def link_job_run(*, job_id: int) -> LinkJob:
    """Run a queued job in id ranges; safe to call twice (the claim is a conditional
    ``UPDATE``, and a resumed job continues after the last range it finished)."""
    claimed = LinkJob.objects.filter(pk=job_id, state__in=[LinkJobState.QUEUED, LinkJobState.RUNNING]).update(
        state=LinkJobState.RUNNING
    )
    job = LinkJob.objects.select_related("incident", "created_by").get(pk=job_id)
    if not claimed:
        return job
    spec = job.criteria
    criteria = LinkCriteria.from_json(spec["criteria"])
    estimate = Estimate(
        delay=timedelta(seconds=spec["delay_seconds"]) if spec.get("delay_seconds") is not None else None,
        fixed=datetime.fromisoformat(spec["fixed"]) if spec.get("fixed") else None,
    )
    try:
        start = job.scanned_up_to_id
        while start < job.max_order_id:
            end = start + LINK_JOB_CHUNK_IDS
            with transaction.atomic():
                linked = _link(
                    orders_matching(criteria).filter(id__gt=start, id__lte=end),
                    incident=job.incident,
                    reason=spec["reason"],
                    estimate=estimate,
                    actor=job.created_by,
                )
                LinkJob.objects.filter(pk=job.pk).update(scanned_up_to_id=end, linked=F("linked") + linked)
            start = end
        with transaction.atomic():
            job.refresh_from_db()
            job.state, job.finished_at = LinkJobState.DONE, timezone.now()
            job.save(update_fields=["state", "finished_at"])
            _record(job.incident, job.created_by, job.linked, "批量任务", "background job")
            _notify(job.incident, spec.get("notify", True))
            staff_alert(
                users=[job.created_by] if job.created_by else [],
                event_key=EventKey.staff("link-job-done", str(job.pk)),
                subject=f"[{job.incident.reference}] 批量关联完成 / linking done: {job.linked}",
                body=(
                    f"{job.incident.reference} {job.incident.title_zh}\n"
                    f"Orders linked: {job.linked} of {job.total_orders} matching\n"
                    f"{settings.PUBLIC_BASE_URL}/admin/incidents/incident/{job.incident_id}/change/\n"
                ),
                roles=[INCIDENT_MANAGER],
                category_id=job.incident.category_id,
            )
    except Exception as error:
        LinkJob.objects.filter(pk=job.pk).update(
            state=LinkJobState.FAILED, error=f"{type(error).__name__}: {error}"[:2000]
        )
        logger.exception("link job failed", extra={"job": job.pk})
        raise
    logger.info("link job done", extra={"job": job.pk, "linked": job.linked})
    return job
