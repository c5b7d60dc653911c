"""Everything the public status page shows, read from the database in one go.

The snapshot is plain data (both languages, no model instances), so it can be
rendered into every published form — the page, the Statuspage JSON, the feed —
and those kept in Redis and in memory, where a request reads them without SQL.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import OuterRef, Prefetch, Subquery
from django.utils import timezone

from components.models import (
    STATUS_RANK,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    Maintenance,
    MaintenanceState,
    ServiceComponent,
)
from incidents.models import OPEN_STATUSES, Incident, IncidentUpdate, Visibility

HISTORY_DAYS = 90
RECENT_INCIDENTS = 50
RECENT_MAINTENANCES = 50
# How much of a day's time in a status counts as downtime (major fully, partial 0.3).
DOWNTIME_WEIGHT: dict[str, float] = {ComponentStatus.MAJOR_OUTAGE: 1.0, ComponentStatus.PARTIAL_OUTAGE: 0.3}


def status_snapshot(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    components = list(ServiceComponent.objects.filter(is_public=True).select_related("group"))
    history = component_history(component_ids=[c.pk for c in components], now=now)
    groups = [group for group in ComponentGroup.objects.all() if any(c.group_id == group.pk for c in components)]
    incidents = _incidents()
    maintenances = _maintenances(now)
    updated = [now - timedelta(days=HISTORY_DAYS)]
    updated += [c.status_changed_at for c in components if c.status_changed_at]
    updated += [incident["updated_at"] for incident in incidents]
    updated += [m["updated_at"] for m in maintenances]
    return {
        "generated_at": now,
        "updated_at": max(updated),
        "groups": [
            {
                "id": group.pk,
                "name_zh": group.name_zh,
                "name_en": group.name_en,
                "position": group.position,
                "component_ids": [c.pk for c in components if c.group_id == group.pk],
            }
            for group in groups
        ],
        "components": [
            {
                "id": component.pk,
                "group_id": component.group_id,
                "name_zh": component.name_zh,
                "name_en": component.name_en,
                "description_zh": component.description_zh,
                "description_en": component.description_en,
                "status": component.status,
                "position": component.position,
                "updated_at": component.status_changed_at,
                **history[component.pk],
            }
            for component in components
        ],
        "incidents": incidents,
        "maintenances": maintenances,
    }


def component_history(*, component_ids: list[int], now: datetime) -> dict[int, dict[str, Any]]:
    """Per component: one entry per local day of the last 90 (oldest first) and the uptime over them.

    A day's entry has its worst status and its uptime share; downtime weighs
    major outage 1, partial outage 0.3, anything else 0.
    """
    today = timezone.localdate(now)
    first_day = today - timedelta(days=HISTORY_DAYS - 1)
    window_start = _local_midnight(first_day)
    changes: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    status_at_start: dict[int, str] = {}
    last_before = ComponentStatusChange.objects.filter(component=OuterRef("pk"), changed_at__lt=window_start).order_by(
        "-changed_at", "-id"
    )
    before = (
        ServiceComponent.objects.filter(pk__in=component_ids)
        .annotate(start_status=Subquery(last_before.values("to_status")[:1]))
        .exclude(start_status=None)
        .values_list("pk", "start_status")
    )
    status_at_start.update(before)
    inside = (
        ComponentStatusChange.objects.filter(
            component_id__in=component_ids, changed_at__gte=window_start, changed_at__lte=now
        )
        .order_by("changed_at", "id")
        .values_list("component_id", "changed_at", "from_status", "to_status")
    )
    for component_id, changed_at, from_status, to_status in inside:
        status_at_start.setdefault(component_id, from_status)
        changes[component_id].append((changed_at, to_status))
    return {
        component_id: _days(
            status_at_start.get(component_id, ComponentStatus.OPERATIONAL), changes[component_id], first_day, now
        )
        for component_id in component_ids
    }


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day))


def _days(start_status: str, changes: list[tuple[datetime, str]], first_day: date, now: datetime) -> dict[str, Any]:
    # Intervals of constant status, then each cut into the days it spans.
    points = [(_local_midnight(first_day), start_status), *changes]
    intervals = [
        (begin, points[i + 1][0] if i + 1 < len(points) else now, status) for i, (begin, status) in enumerate(points)
    ]
    days = []
    total_seconds = total_down = 0.0
    for offset in range(HISTORY_DAYS):
        day = first_day + timedelta(days=offset)
        day_start, day_end = _local_midnight(day), min(_local_midnight(day + timedelta(days=1)), now)
        seconds = max(0.0, (day_end - day_start).total_seconds())
        down = 0.0
        worst: str = ComponentStatus.OPERATIONAL
        for begin, end, status in intervals:
            overlap = (min(end, day_end) - max(begin, day_start)).total_seconds()
            if overlap <= 0:
                continue
            down += overlap * DOWNTIME_WEIGHT.get(status, 0.0)
            if STATUS_RANK[status] > STATUS_RANK[worst]:
                worst = status
        total_seconds += seconds
        total_down += down
        days.append(
            {
                "date": day,
                "status": worst,
                "uptime": round(100 * (1 - down / seconds), 2) if seconds else 100.0,
                "down_minutes": round(down / 60),
            }
        )
    uptime = 100 * (1 - total_down / total_seconds) if total_seconds else 100.0
    return {"days": days, "uptime": _floor2(uptime)}


def _floor2(percent: float) -> float:
    # 99.999 shows as 99.99, never as a rounded-up 100.00 that hides an outage.
    return int(percent * 100) / 100


def _incidents() -> list[dict[str, Any]]:
    public_updates = IncidentUpdate.objects.filter(visibility=Visibility.PUBLIC).order_by("-created_at", "-id")
    recent = list(
        Incident.objects.published().order_by("-reported_at", "-id").values_list("pk", flat=True)[:RECENT_INCIDENTS]
    )
    open_ids = list(Incident.objects.published().filter(status__in=OPEN_STATUSES).values_list("pk", flat=True))
    incidents = (
        Incident.objects.filter(pk__in=set(recent) | set(open_ids))
        .select_related("category")
        .prefetch_related(
            Prefetch("updates", queryset=public_updates, to_attr="public_updates"),
            Prefetch("component_impacts__component"),
        )
        .order_by("-reported_at", "-id")
    )
    return [
        {
            "id": incident.pk,
            "reference": incident.reference,
            "title_zh": incident.title_zh,
            "title_en": incident.title_en,
            "summary_zh": incident.summary_zh,
            "summary_en": incident.summary_en,
            "category_zh": incident.category.name_zh,
            "category_en": incident.category.name_en,
            "status": incident.status,
            "is_open": incident.is_open,
            "severity": incident.severity,
            "started_at": incident.impact_started_at,
            "created_at": incident.reported_at,
            "updated_at": max([incident.updated_at, *(u.created_at for u in incident.public_updates)]),
            "monitoring_at": incident.mitigated_at,
            "resolved_at": incident.resolved_at,
            "estimated_recovery_at": incident.estimated_recovery_at,
            "components": [
                {"id": impact.component_id, "impact": impact.impact}
                for impact in incident.component_impacts.all()
                if impact.component.is_public
            ],
            "updates": [
                {
                    "id": update.pk,
                    "status": update.status,
                    "body_zh": update.body_zh,
                    "body_en": update.body_en,
                    "body_zh_html": update.body_zh_html,
                    "body_en_html": update.body_en_html,
                    "created_at": update.created_at,
                }
                for update in incident.public_updates
            ],
        }
        for incident in incidents
    ]


def _maintenances(now: datetime) -> list[dict[str, Any]]:
    current = [MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS, MaintenanceState.VERIFYING]
    recent = list(Maintenance.objects.order_by("-starts_at").values_list("pk", flat=True)[:RECENT_MAINTENANCES])
    active = list(Maintenance.objects.filter(state__in=current).values_list("pk", flat=True))
    rows = (
        Maintenance.objects.filter(pk__in=set(recent) | set(active))
        .prefetch_related(Prefetch("components", queryset=ServiceComponent.objects.filter(is_public=True)))
        .order_by("starts_at", "id")
    )
    return [
        {
            "id": maintenance.pk,
            "title_zh": maintenance.title_zh,
            "title_en": maintenance.title_en,
            "description_zh": maintenance.description_zh,
            "description_en": maintenance.description_en,
            "state": maintenance.state,
            "starts_at": maintenance.starts_at,
            "ends_at": maintenance.ends_at,
            "started_at": maintenance.started_at,
            "completed_at": maintenance.completed_at,
            "created_at": maintenance.created_at,
            "updated_at": max(
                t for t in (maintenance.created_at, maintenance.started_at, maintenance.completed_at) if t
            ),
            "component_ids": [c.pk for c in maintenance.components.all()],
        }
        for maintenance in rows
    ]
