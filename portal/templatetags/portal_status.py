"""Labels and the 90-day history bar of the status page, drawn as inline SVG (no script, no CDN)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from components.models import ComponentStatus, MaintenanceState
from incidents.models import IncidentStatus

register = template.Library()

BAR_COLOUR = {
    ComponentStatus.OPERATIONAL: "#2da44e",
    ComponentStatus.UNDER_MAINTENANCE: "#0969da",
    ComponentStatus.DEGRADED_PERFORMANCE: "#bf8700",
    ComponentStatus.PARTIAL_OUTAGE: "#e16f24",
    ComponentStatus.MAJOR_OUTAGE: "#cf222e",
}
BAR_WIDTH, BAR_GAP, BAR_HEIGHT = 3, 1, 28


@register.filter
def component_status_label(value: str) -> str:
    return str(ComponentStatus(value).label)


@register.filter
def incident_status_label(value: str) -> str:
    return str(IncidentStatus(value).label)


@register.filter
def maintenance_state_label(value: str) -> str:
    return str(MaintenanceState(value).label)


@register.simple_tag
def uptime_bars(component: dict[str, Any]) -> str:
    days = component["days"]
    width = len(days) * (BAR_WIDTH + BAR_GAP) - BAR_GAP

    def day_title(day: dict[str, Any]) -> str:
        label = date_format(day["date"], "SHORT_DATE_FORMAT")
        if day["down_minutes"]:
            return _("%(date)s: %(status)s, %(uptime)s%% uptime") % {
                "date": label,
                "status": ComponentStatus(day["status"]).label,
                "uptime": day["uptime"],
            }
        return _("%(date)s: %(status)s") % {"date": label, "status": ComponentStatus(day["status"]).label}

    rects = format_html_join(
        "",
        '<rect x="{}" y="0" width="{}" height="{}" rx="1" fill="{}"><title>{}</title></rect>',
        (
            (i * (BAR_WIDTH + BAR_GAP), BAR_WIDTH, BAR_HEIGHT, BAR_COLOUR[day["status"]], day_title(day))
            for i, day in enumerate(days)
        ),
    )
    label = _("%(name)s, last 90 days: %(uptime)s%% uptime") % {
        "name": component["name"],
        "uptime": component["uptime"],
    }
    return format_html(
        '<svg class="uptime-bars" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" aria-label="{}">{}</svg>',
        width,
        BAR_HEIGHT,
        label,
        rects,
    )
