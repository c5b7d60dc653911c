from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, QuerySet

from incidents.models import OPEN_STATUSES, AffectedOrder, Incident, IncidentComponent, IncidentUpdate, Visibility


def open_impacts_by_component(*, component_ids: Iterable[int]) -> dict[int, list[str]]:
    """Impacts of open, published incidents: an internal incident does not move a public component."""
    impacts: dict[int, list[str]] = defaultdict(list)
    rows = IncidentComponent.objects.filter(
        component_id__in=list(component_ids),
        incident__status__in=OPEN_STATUSES,
        incident__published_at__isnull=False,
    )
    for component_id, impact in rows.values_list("component_id", "impact"):
        impacts[component_id].append(impact)
    return impacts


def affected_counts_by_reason(*, incident: Incident) -> dict[str, int]:
    rows = AffectedOrder.objects.filter(incident=incident).values("reason").annotate(count=Count("id")).order_by()
    return {row["reason"]: row["count"] for row in rows}


def public_timeline(*, incident: Incident) -> QuerySet[IncidentUpdate]:
    return incident.updates.filter(visibility=Visibility.PUBLIC).order_by("-created_at", "-id")
