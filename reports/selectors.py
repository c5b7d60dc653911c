"""The evaluation figures (量化评估指标): each a handful of aggregate queries.

Every function takes the rows to measure as a queryset, so the dashboard (a
period, category and severity) and the post-incident report (one incident) read
the same figures the same way. Percentiles are PostgreSQL's ``percentile_cont``
(on the embedded SQLite, the same aggregate in Python: ``reports.aggregates``);
nothing here loads rows into Python to count them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Count, DateTimeField, F, FloatField, Min, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from compensation.models import Coupon, CouponStatus
from complaints.models import Complaint, ReplyDeadline
from incidents.models import AffectedOrder, Incident, IncidentCategory, Target
from incidents.selectors import public_timeline
from notifications.models import Notification, Status
from reports.aggregates import IntervalSeconds, Percentile, Seconds

# Buckets of the distribution charts: time taken as a share of the target, and
# hours to a complaint's first reply (the 24-hour rule is the line).
TARGET_SHARE_BUCKETS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
REPLY_HOUR_BUCKETS = [2, 4, 8, 12, 16, 20, 24, 36, 48]
REPORT_COMPLAINTS_SHOWN = 50


@dataclass(frozen=True)
class Filters:
    """A period of whole days (both ends included) in the local time zone, and optionally a category and severity."""

    start: date
    end: date
    category: IncidentCategory | None = None
    severity: int | None = None

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_before(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    def incidents(self) -> QuerySet[Incident]:
        incidents = Incident.objects.filter(reported_at__gte=self.start_at, reported_at__lt=self.end_before)
        return self._narrow(incidents, "")

    def complaints(self) -> QuerySet[Complaint]:
        complaints = Complaint.objects.filter(created_at__gte=self.start_at, created_at__lt=self.end_before)
        return self._narrow(complaints, "incident__")

    def coupons(self) -> QuerySet[Coupon]:
        coupons = Coupon.objects.filter(created_at__gte=self.start_at, created_at__lt=self.end_before)
        return self._narrow(coupons, "incident__")

    def _narrow(self, queryset: QuerySet[Any], prefix: str) -> QuerySet[Any]:
        # Complaints and coupons narrowed by category or severity are those of matching incidents.
        if self.category is not None:
            queryset = queryset.filter(**{f"{prefix}category": self.category})
        if self.severity is not None:
            queryset = queryset.filter(**{f"{prefix}severity": self.severity})
        return queryset


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- incidents --------------------------------------------------------------------------


def _incident_aggregates() -> dict[str, Any]:
    acknowledge = Seconds("acknowledged_at", "reported_at")
    recover = Seconds("resolved_at", "reported_at")
    return {
        "count": Count("id"),
        "acknowledge_median": Percentile(acknowledge, 0.5),
        "acknowledge_p90": Percentile(acknowledge, 0.9),
        "responses_met": Count("id", filter=Q(response_met=True)),
        "responses_judged": Count("id", filter=Q(response_met__isnull=False)),
        "recover_median": Percentile(recover, 0.5),
        "recover_p90": Percentile(recover, 0.9),
        "recoveries_met": Count("id", filter=Q(recovery_met=True)),
        "recoveries_judged": Count("id", filter=Q(recovery_met__isnull=False)),
        "responses_missed": Count("id", filter=Q(response_met=False)),
        "recoveries_missed": Count("id", filter=Q(recovery_met=False)),
    }


def _with_shares(row: dict[str, Any]) -> dict[str, Any]:
    row["response_share"] = _share(row["responses_met"], row["responses_judged"])
    row["recovery_share"] = _share(row["recoveries_met"], row["recoveries_judged"])
    row["targets_missed"] = row["responses_missed"] + row["recoveries_missed"]
    return row


def incident_figures(*, incidents: QuerySet[Incident]) -> dict[str, Any]:
    """Count, time to acknowledge and to recover (median, p90, share within target),
    targets missed: in total and by category. Times are seconds from the report."""
    total = _with_shares(incidents.aggregate(**_incident_aggregates()))
    by_category = []
    rows = incidents.values("category_id").annotate(**_incident_aggregates()).order_by("category_id")
    categories = {category.pk: category for category in IncidentCategory.objects.all()}
    for values in rows:
        by_category.append(_with_shares({**values, "category": categories[values["category_id"]]}))
    by_category.sort(key=lambda row: (row["category"].position, row["category"].pk))
    return {"total": total, "by_category": by_category}


def incident_target_distribution(*, incidents: QuerySet[Incident], target: str) -> list[int]:
    """How many incidents took each share of their target (``response`` or ``recovery``):
    one count per bucket of ``TARGET_SHARE_BUCKETS`` and one for beyond the last."""
    done_field, target_field = ("acknowledged_at", "response_target")
    if target == "recovery":
        done_field, target_field = ("resolved_at", "recovery_target")
    judged = incidents.filter(**{f"{done_field}__isnull": False, f"{target_field}__gt": timedelta(0)}).annotate(
        share=Seconds(done_field, "reported_at") / IntervalSeconds(target_field)
    )
    return _bucket_counts(judged, "share", TARGET_SHARE_BUCKETS)


def _bucket_aggregates(field_name: str, limits: list[float]) -> dict[str, Any]:
    """``bucket_<i>`` counts rows with ``field_name`` in (limit i-1, limit i]; ``beyond`` past the last."""
    aggregates: dict[str, Any] = {}
    lower = None
    for index, upper in enumerate(limits):
        condition = Q(**{f"{field_name}__lte": upper})
        if lower is not None:
            condition &= Q(**{f"{field_name}__gt": lower})
        aggregates[f"bucket_{index}"] = Count("pk", filter=condition)
        lower = upper
    aggregates["beyond"] = Count("pk", filter=Q(**{f"{field_name}__gt": limits[-1]}))
    return aggregates


def _bucket_list(counts: dict[str, Any], limits: list[float]) -> list[int]:
    return [counts.pop(f"bucket_{index}") for index in range(len(limits))] + [counts.pop("beyond")]


def _bucket_counts(queryset: QuerySet[Any], field_name: str, limits: list[float]) -> list[int]:
    return _bucket_list(queryset.aggregate(**_bucket_aggregates(field_name, limits)), limits)


def weekly(queryset: QuerySet[Any], time_field: str, filters: Filters, **aggregates: Aggregate) -> list[dict[str, Any]]:
    """One row per week of the period (Monday first), weeks without rows included."""
    rows = {
        timezone.localtime(row["week"]).date() if isinstance(row["week"], datetime) else row["week"]: row
        for row in queryset.annotate(week=TruncWeek(time_field)).values("week").annotate(**aggregates).order_by()
    }
    week = filters.start - timedelta(days=filters.start.weekday())
    weeks = []
    while week <= filters.end:
        row = rows.get(week) or {name: 0 for name in aggregates}
        weeks.append({**row, "week": week})
        week += timedelta(days=7)
    return weeks


# --- customers ------------------------------------------------------------------------------


def customer_figures(*, incidents: QuerySet[Incident]) -> dict[str, Any]:
    """Affected orders (by reason) and customers, customers told, messages per channel
    and status, and how long after the declaration the last customer got a first message."""
    affected = AffectedOrder.objects.filter(incident__in=incidents.values("pk"))
    by_reason = list(affected.values("reason").annotate(count=Count("id")).order_by("-count", "reason"))
    # Customers' messages only: status-notice subscribers are not affected customers.
    messages = Notification.objects.filter(incident__in=incidents.values("pk"), customer__isnull=False)
    channels: dict[str, dict[str, Any]] = {}  # counts, and the delivery rate
    for row in messages.values("channel", "status").annotate(count=Count("id")).order_by():
        channel = channels.setdefault(row["channel"], {"sent": 0, "delivered": 0, "failed": 0, "suppressed": 0})
        channel["total"] = channel.get("total", 0) + row["count"]
        status = row["status"]
        if status in (Status.SENT, Status.DELIVERED):
            channel["sent"] += row["count"]
        if status == Status.DELIVERED:
            channel["delivered"] += row["count"]
        elif status in (Status.FAILED, Status.UNDELIVERED):
            channel["failed"] += row["count"]
        elif status == Status.SUPPRESSED:
            channel["suppressed"] += row["count"]
    for channel in channels.values():
        # Of the messages handed to the provider, the share it confirmed delivered.
        channel["delivery_rate"] = _share(channel["delivered"], channel["sent"] + channel["failed"])
    return {
        "affected_orders": sum(row["count"] for row in by_reason),
        "affected_by_reason": by_reason,
        "affected_customers": affected.values("order__customer_id").distinct().count(),
        "customers_notified": messages.filter(status__in=[Status.SENT, Status.DELIVERED])
        .values("customer_id")
        .distinct()
        .count(),
        "channels": dict(sorted(channels.items())),
        **last_first_message(incidents=incidents),
    }


# Each customer's first message (the ORM's query), the last of those per incident, then the
# figures over the incidents: the ORM does not nest groupings, so the two outer levels are
# SQL, with the expressions that differ between PostgreSQL and SQLite compiled by Django.
_LAST_FIRST_MESSAGE_SQL = """
SELECT {median}, {p90}, max(seconds), count(seconds)
FROM (
    SELECT {seconds} AS seconds
    FROM ({firsts}) AS first
    JOIN incidents_incident AS incident ON incident.id = first.incident_id
    GROUP BY incident.id, incident.reported_at
) AS per_incident
"""


def last_first_message(*, incidents: QuerySet[Incident]) -> dict[str, Any]:
    """Per incident, the time from its declaration until its last customer got their
    first message; median, p90 and maximum over the incidents, in seconds."""
    firsts = (
        Notification.objects.filter(incident__in=incidents.values("pk"), sent_at__isnull=False, customer__isnull=False)
        .values("incident_id", "customer_id")
        .annotate(first_sent_at=Min("sent_at"))
        .order_by()
    )
    firsts_sql, params = firsts.query.sql_with_params()
    compiler = Incident.objects.all().query.get_compiler(connection=connection)
    seconds = Seconds(
        RawSQL("max(first.first_sent_at)", (), DateTimeField()), RawSQL("incident.reported_at", (), DateTimeField())
    )
    per_incident = RawSQL("seconds", (), FloatField())
    sql = _LAST_FIRST_MESSAGE_SQL.format(
        median=compiler.compile(Percentile(per_incident, 0.5))[0],
        p90=compiler.compile(Percentile(per_incident, 0.9))[0],
        seconds=compiler.compile(seconds)[0],
        firsts=firsts_sql,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        median, p90, longest, count = cursor.fetchone()
    return {
        "last_first_message_median": median,
        "last_first_message_p90": p90,
        "last_first_message_max": longest,
        "incidents_with_messages": count,
    }


# --- complaints -----------------------------------------------------------------------------


def _reply_window() -> timedelta:
    return timedelta(hours=settings.COMPLAINT_REPLY_HOURS)


def complaint_figures(*, complaints: QuerySet[Complaint], now: datetime | None = None) -> dict[str, Any]:
    """Count by reason, first-response time (median, p90, seconds), the share replied
    within the reply window of those whose window has passed or who were answered,
    answered complaints per bucket of hours to the first reply (``REPLY_HOUR_BUCKETS``,
    then beyond), and recorded breaches by agent and by incident."""
    now = now or timezone.now()
    window = _reply_window()
    hour_limits = [float(limit) for limit in REPLY_HOUR_BUCKETS]
    first_response = Seconds("first_response_at", "created_at")
    totals = complaints.annotate(hours=first_response / 3600.0).aggregate(
        count=Count("id"),
        first_response_median=Percentile(first_response, 0.5),
        first_response_p90=Percentile(first_response, 0.9),
        answered=Count("id", filter=Q(first_response_at__isnull=False)),
        in_time=Count("id", filter=Q(first_response_at__lte=F("created_at") + window)),
        owed=Count("id", filter=Q(first_response_at__isnull=False) | Q(created_at__lte=now - window)),
        **_bucket_aggregates("hours", hour_limits),
    )
    totals["reply_distribution"] = _bucket_list(totals, hour_limits)
    totals["in_time_share"] = _share(totals["in_time"], totals["owed"])
    totals["unanswered"] = totals["count"] - totals["answered"]
    by_reason = list(complaints.values("reason").annotate(count=Count("id")).order_by("-count", "reason"))
    # A complaint has one assignee and one incident, so one grouping by both adds up to either.
    breaches = list(
        ReplyDeadline.objects.filter(met=False, complaint__in=complaints.values("pk"))
        .values("complaint__assignee__username", "complaint__incident_id")
        .annotate(breaches=Count("id"), complaints=Count("complaint_id", distinct=True))
        .order_by()
    )
    by_agent = _roll_up(breaches, "complaint__assignee__username")
    by_incident = _roll_up(breaches, "complaint__incident_id")
    incidents = Incident.objects.in_bulk(
        [row["complaint__incident_id"] for row in by_incident if row["complaint__incident_id"]]
    )
    for row in by_incident:
        row["incident"] = incidents.get(row["complaint__incident_id"])
    return {
        **totals,
        "by_reason": by_reason,
        "breaches": sum(row["breaches"] for row in breaches),
        "breaches_by_agent": by_agent,
        "breaches_by_incident": by_incident,
    }


def _roll_up(rows: Sequence[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    """Sum breaches and complaints by ``key``: most breaches first, then by key, empty key last."""
    totals: dict[Any, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(row[key], {key: row[key], "breaches": 0, "complaints": 0})
        total["breaches"] += row["breaches"]
        total["complaints"] += row["complaints"]
    return sorted(
        totals.values(),
        key=lambda total: (-total["breaches"], total[key] is None, total[key] if total[key] is not None else 0),
    )


# --- compensation ---------------------------------------------------------------------------

_ZERO = Decimal("0.00")
_MONEY = ("cost", "redeemed_value")


def _in_cents(row: Mapping[str, Any]) -> dict[str, Any]:
    # SQLite keeps decimals as floating point and its sums come back unrounded
    # (Decimal("20") or "15.2999…"); PostgreSQL's are exact. Both read as yuan and fen.
    return {**row, **{name: row[name].quantize(_ZERO) for name in _MONEY}}


def coupon_figures(*, coupons: QuerySet[Coupon]) -> dict[str, Any]:
    """Coupons issued and redeemed, and their cost (the value of every coupon not revoked),
    in total, by incident and by rule. A coupon does not keep its rule: coupons of an
    incident's rule table are grouped by the rule's value and minimum spend."""
    live = ~Q(status=CouponStatus.REVOKED)
    aggregates = {
        "issued": Count("id"),
        "redeemed": Count("id", filter=Q(status=CouponStatus.REDEEMED)),
        "cost": Coalesce(Sum("value", filter=live), _ZERO),
        "redeemed_value": Coalesce(Sum("value", filter=Q(status=CouponStatus.REDEEMED)), _ZERO),
    }
    totals = _in_cents(coupons.aggregate(**aggregates))
    by_incident = [
        _in_cents(row)
        for row in coupons.values("incident_id")
        .annotate(**aggregates)
        .order_by(F("cost").desc(), F("incident_id").asc(nulls_last=True))
    ]
    incidents = Incident.objects.in_bulk([row["incident_id"] for row in by_incident if row["incident_id"]])
    for row in by_incident:
        row["incident"] = incidents.get(row["incident_id"])
    by_rule = [
        _in_cents(row)
        for row in coupons.values("source", "value", "minimum_spend")
        .annotate(**aggregates)
        .order_by("source", "-value", "minimum_spend")
    ]
    return {**totals, "by_incident": by_incident, "by_rule": by_rule}


# --- the two pages --------------------------------------------------------------------------


@dataclass
class Dashboard:
    filters: Filters
    incidents: dict[str, Any]
    customers: dict[str, Any]
    complaints: dict[str, Any]
    compensation: dict[str, Any]
    incident_weeks: list[dict[str, Any]] = field(default_factory=list)
    complaint_weeks: list[dict[str, Any]] = field(default_factory=list)
    recovery_distribution: list[int] = field(default_factory=list)
    response_distribution: list[int] = field(default_factory=list)
    reply_distribution: list[int] = field(default_factory=list)


def dashboard(*, filters: Filters, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    incidents = filters.incidents()
    complaints = filters.complaints()
    window = _reply_window()
    complaint_totals = complaint_figures(complaints=complaints, now=now)
    return Dashboard(
        filters=filters,
        incidents=incident_figures(incidents=incidents),
        customers=customer_figures(incidents=incidents),
        complaints=complaint_totals,
        compensation=coupon_figures(coupons=filters.coupons()),
        incident_weeks=weekly(
            incidents,
            "reported_at",
            filters,
            count=Count("id"),
            missed=Count("id", filter=Q(response_met=False) | Q(recovery_met=False)),
        ),
        complaint_weeks=weekly(
            complaints,
            "created_at",
            filters,
            count=Count("id"),
            in_time=Count("id", filter=Q(first_response_at__lte=F("created_at") + window)),
            owed=Count("id", filter=Q(first_response_at__isnull=False) | Q(created_at__lte=now - window)),
        ),
        recovery_distribution=incident_target_distribution(incidents=incidents, target="recovery"),
        response_distribution=incident_target_distribution(incidents=incidents, target="response"),
        reply_distribution=complaint_totals["reply_distribution"],
    )


@dataclass
class IncidentReport:
    incident: Incident
    public_updates: list[Any]
    customers: dict[str, Any]
    complaints: dict[str, Any]
    complaint_rows: list[Complaint]
    compensation: dict[str, Any]
    follow_ups: list[Any]

    @property
    def targets(self) -> list[dict[str, Any]]:
        incident = self.incident
        rows = []
        for target, limit, due, done, met in (
            (
                Target.RESPONSE,
                incident.response_target,
                incident.response_due_at,
                incident.acknowledged_at,
                incident.response_met,
            ),
            (
                Target.RECOVERY,
                incident.recovery_target,
                incident.recovery_due_at,
                incident.resolved_at,
                incident.recovery_met,
            ),
        ):
            took = (done - incident.reported_at).total_seconds() if done else None
            rows.append(
                {
                    "name": target.label,
                    "target": limit.total_seconds() if limit else None,
                    "due": due,
                    "done": done,
                    "took": took,
                    "met": met,
                }
            )
        return rows

    @property
    def milestones(self) -> list[tuple[Any, datetime]]:
        incident = self.incident
        stamps = [
            (field.verbose_name, getattr(incident, name))
            for name in (
                "impact_started_at",
                "reported_at",
                "acknowledged_at",
                "mitigated_at",
                "resolved_at",
                "closed_at",
            )
            if isinstance(field := Incident._meta.get_field(name), DateTimeField)
        ]
        return [(label, stamp) for label, stamp in stamps if stamp is not None]


def incident_report(*, incident: Incident, now: datetime | None = None) -> IncidentReport:
    """Everything the post-incident report (事后报告) shows, for one incident."""
    one = Incident.objects.filter(pk=incident.pk)
    complaints = Complaint.objects.filter(incident=incident)
    return IncidentReport(
        incident=incident,
        public_updates=list(public_timeline(incident=incident).select_related("author").reverse()),
        customers=customer_figures(incidents=one),
        complaints=complaint_figures(complaints=complaints, now=now),
        complaint_rows=list(
            complaints.annotate(first_response_seconds=Seconds("first_response_at", "created_at")).order_by(
                "created_at", "id"
            )[:REPORT_COMPLAINTS_SHOWN]
        ),
        compensation=coupon_figures(coupons=Coupon.objects.filter(incident=incident)),
        follow_ups=list(incident.follow_ups.select_related("owner").order_by("due_on", "id")),
    )
