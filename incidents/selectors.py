from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from incidents.criteria import LinkCriteria
from incidents.errors import IncidentError
from incidents.models import OPEN_STATUSES, AffectedOrder, Incident, IncidentComponent, IncidentUpdate, Visibility
from orders.models import Order


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


# Each criterion and the lookup it filters orders by; windows are half-open [from, to).
_CRITERION_LOOKUPS = {
    "hubs": "hub__in",
    "origin_cities": "origin_city__in",
    "destination_cities": "destination_city__in",
    "statuses": "status__in",
    "created_from": "created_at__gte",
    "created_to": "created_at__lt",
    "promised_from": "promised_delivery__gte",
    "promised_to": "promised_delivery__lt",
}


def orders_matching(criteria: LinkCriteria) -> QuerySet[Order]:
    """Orders meeting every given criterion; refuses an empty set of criteria."""
    if criteria.is_empty():
        raise IncidentError(_("Choose at least one criterion; linking every parcel is never what you want."))
    given = {lookup: getattr(criteria, name) for name, lookup in _CRITERION_LOOKUPS.items() if getattr(criteria, name)}
    return Order.objects.filter(**given)


@dataclass(frozen=True)
class LinkPreview:
    matching: int
    already_linked: int

    @property
    def to_link(self) -> int:
        return self.matching - self.already_linked


def incident_link_preview(*, incident: Incident, criteria: LinkCriteria) -> LinkPreview:
    orders = orders_matching(criteria)
    return LinkPreview(
        matching=orders.count(),
        already_linked=AffectedOrder.objects.filter(incident=incident, order__in=orders).count(),
    )
