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


# A day's bar is shorter the worse its status, so the bars read without colour too.
BAR_SHARE = {
    ComponentStatus.OPERATIONAL: 1.0,
    ComponentStatus.UNDER_MAINTENANCE: 0.8,
    ComponentStatus.DEGRADED_PERFORMANCE: 0.65,
    ComponentStatus.PARTIAL_OUTAGE: 0.45,
    ComponentStatus.MAJOR_OUTAGE: 0.25,
}


@register.simple_tag
def uptime_bars(component: dict[str, Any]) -> str:
    """The 90 days as bars (colour and height by status, a tooltip per day) and, for screen
    readers, the same in words: the uptime and every day that was not fully operational."""
    days = component["days"]
    width = len(days) * (BAR_WIDTH + BAR_GAP) - BAR_GAP

    def bar(index: int, day: dict[str, Any]) -> tuple[object, ...]:
        height = round(BAR_HEIGHT * BAR_SHARE[day["status"]])
        x = index * (BAR_WIDTH + BAR_GAP)
        return (x, BAR_HEIGHT - height, BAR_WIDTH, height, BAR_COLOUR[day["status"]], _day_text(day))

    rects = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" rx="1" fill="{}"><title>{}</title></rect>',
        (bar(index, day) for index, day in enumerate(days)),
    )
    troubled = [_day_text(day) for day in days if day["status"] != ComponentStatus.OPERATIONAL]
    figures = {"name": component["name"], "uptime": component["uptime"], "days": "; ".join(troubled)}
    if troubled:
        summary = _("%(name)s, last 90 days: %(uptime)s%% uptime. Days not fully operational: %(days)s.") % figures
    else:
        summary = _("%(name)s, last 90 days: %(uptime)s%% uptime, fully operational every day.") % figures
    return format_html(
        '<svg class="uptime-bars" viewBox="0 0 {} {}" preserveAspectRatio="none" aria-hidden="true" focusable="false">'
        '{}</svg><p class="visually-hidden">{}</p>',
        width,
        BAR_HEIGHT,
        rects,
        summary,
    )


def _day_text(day: dict[str, Any]) -> str:
    label = date_format(day["date"], "SHORT_DATE_FORMAT")
    status = ComponentStatus(day["status"]).label
    if day["down_minutes"]:
        return _("%(date)s: %(status)s, %(uptime)s%% uptime") % {
            "date": label,
            "status": status,
            "uptime": day["uptime"],
        }
    return _("%(date)s: %(status)s") % {"date": label, "status": status}
