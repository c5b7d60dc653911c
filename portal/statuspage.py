"""The status snapshot in the shape of Atlassian Statuspage's public API v2.

Same field names, value sets and nesting, so widgets and tools written for any
Statuspage page read ours unchanged. Names are in the active language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from components.models import STATUS_RANK, ComponentStatus, MaintenanceState

# Our incident lifecycle → Statuspage's incident status.
INCIDENT_STATUS = {
    "reported": "investigating",
    "acknowledged": "investigating",
    "investigating": "investigating",
    "identified": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
    "closed": "postmortem",  # closed means the post-incident review is written
}
# Severity level 1–4 → impact.
IMPACT = {1: "critical", 2: "major", 3: "minor", 4: "minor"}
INDICATOR_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
COMPONENT_INDICATOR = {
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}
MAINTENANCE_STATUS = {
    MaintenanceState.SCHEDULED: "scheduled",
    MaintenanceState.IN_PROGRESS: "in_progress",
    MaintenanceState.VERIFYING: "verifying",
    MaintenanceState.COMPLETED: "completed",
}
UPCOMING = {MaintenanceState.SCHEDULED}
ACTIVE = {MaintenanceState.IN_PROGRESS, MaintenanceState.VERIFYING}


def text(item: dict[str, Any], field: str) -> str:
    english: str | None = item.get(f"{field}_en")
    if (get_language() or "").startswith("en") and english:
        return english
    chinese: str = item.get(f"{field}_zh") or ""
    return chinese


def stamp(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="milliseconds") if value else None


def page(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": settings.STATUS_PAGE_ID,
        "name": _("Parcel service status"),
        "url": settings.PUBLIC_BASE_URL,
        "time_zone": settings.TIME_ZONE,
        "updated_at": stamp(snapshot["updated_at"]),
    }


def overall(snapshot: dict[str, Any]) -> dict[str, str]:
    """Indicator none/minor/major/critical: the worst of the components and the unresolved incidents."""
    indicators = ["none"]
    indicators += [COMPONENT_INDICATOR.get(c["status"], "none") for c in snapshot["components"]]
    indicators += [IMPACT[i["severity"]] for i in snapshot["incidents"] if i["is_open"]]
    indicator = max(indicators, key=INDICATOR_RANK.__getitem__)
    descriptions = {
        "none": _("All Systems Operational"),
        "minor": _("Minor Service Outage"),
        "major": _("Partial System Outage"),
        "critical": _("Major System Outage"),
    }
    description = descriptions[indicator]
    if indicator == "none" and any(m["state"] in ACTIVE for m in snapshot["maintenances"]):
        description = _("Service Under Maintenance")
    return {"indicator": indicator, "description": description}


def components(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    page_id = settings.STATUS_PAGE_ID
    rows = []
    for group in snapshot["groups"]:
        members = [c for c in snapshot["components"] if c["group_id"] == group["id"]]
        worst = max((c["status"] for c in members), key=STATUS_RANK.__getitem__, default=ComponentStatus.OPERATIONAL)
        rows.append(
            {
                "id": f"group-{group['id']}",
                "name": text(group, "name"),
                "status": worst,
                "created_at": None,
                "updated_at": stamp(max((c["updated_at"] for c in members if c["updated_at"]), default=None)),
                "position": group["position"],
                "description": None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": page_id,
                "group": True,
                "only_show_if_degraded": False,
                "components": [str(c["id"]) for c in members],
            }
        )
    rows += [_component(c) for c in snapshot["components"]]
    return rows


def _component(component: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(component["id"]),
        "name": text(component, "name"),
        "status": component["status"],
        "created_at": None,
        "updated_at": stamp(component["updated_at"]),
        "position": component["position"],
        "description": text(component, "description") or None,
        "showcase": True,
        "start_date": None,
        "group_id": f"group-{component['group_id']}" if component["group_id"] else None,
        "page_id": settings.STATUS_PAGE_ID,
        "group": False,
        "only_show_if_degraded": False,
    }


def incident(snapshot: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    by_id = {c["id"]: c for c in snapshot["components"]}
    status = INCIDENT_STATUS[item["status"]]
    return {
        "id": str(item["id"]),
        "name": text(item, "title"),
        "status": status,
        "created_at": stamp(item["created_at"]),
        "updated_at": stamp(item["updated_at"]),
        "monitoring_at": stamp(item["monitoring_at"]),
        "resolved_at": stamp(item["resolved_at"]),
        "impact": IMPACT[item["severity"]],
        "shortlink": f"{settings.PUBLIC_BASE_URL}/incidents/{item['id']}/",
        "started_at": stamp(item["started_at"]),
        "page_id": settings.STATUS_PAGE_ID,
        "incident_updates": [
            {
                "id": str(update["id"]),
                "status": INCIDENT_STATUS[update["status"]],
                "body": text(update, "body"),
                "incident_id": str(item["id"]),
                "created_at": stamp(update["created_at"]),
                "updated_at": stamp(update["created_at"]),
                "display_at": stamp(update["created_at"]),
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for update in item["updates"]
        ],
        "components": [_component(by_id[c["id"]]) for c in item["components"] if c["id"] in by_id],
    }


def maintenance(snapshot: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    by_id = {c["id"]: c for c in snapshot["components"]}
    status = MAINTENANCE_STATUS[item["state"]]
    body = text(item, "description")
    return {
        "id": f"maintenance-{item['id']}",
        "name": text(item, "title"),
        "status": status,
        "created_at": stamp(item["created_at"]),
        "updated_at": stamp(item["updated_at"]),
        "monitoring_at": None,
        "resolved_at": stamp(item["completed_at"]),
        "impact": "maintenance",
        "shortlink": f"{settings.PUBLIC_BASE_URL}/",
        "started_at": stamp(item["started_at"] or item["starts_at"]),
        "page_id": settings.STATUS_PAGE_ID,
        "scheduled_for": stamp(item["starts_at"]),
        "scheduled_until": stamp(item["ends_at"]),
        "incident_updates": [
            {
                "id": f"maintenance-{item['id']}-{status}",
                "status": status,
                "body": body,
                "incident_id": f"maintenance-{item['id']}",
                "created_at": stamp(item["updated_at"]),
                "updated_at": stamp(item["updated_at"]),
                "display_at": stamp(item["updated_at"]),
                "affected_components": None,
                "deliver_notifications": False,
                "custom_tweet": None,
                "tweet_id": None,
            }
        ],
        "components": [_component(by_id[i]) for i in item["component_ids"] if i in by_id],
    }


def documents(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every endpoint's body, keyed by its path under ``/api/v2/``."""
    head = page(snapshot)
    incidents = [incident(snapshot, i) for i in snapshot["incidents"]]
    unresolved = [incident(snapshot, i) for i in snapshot["incidents"] if i["is_open"]]
    shown = [m for m in snapshot["maintenances"] if m["state"] in MAINTENANCE_STATUS]
    newest_first = sorted(shown, key=lambda m: m["starts_at"], reverse=True)
    maintenances = [maintenance(snapshot, m) for m in newest_first]
    upcoming = [maintenance(snapshot, m) for m in shown if m["state"] in UPCOMING]
    active = [maintenance(snapshot, m) for m in shown if m["state"] in ACTIVE]
    status = overall(snapshot)
    component_rows = components(snapshot)
    return {
        "summary.json": {
            "page": head,
            "components": component_rows,
            "incidents": unresolved,
            "scheduled_maintenances": active + upcoming,
            "status": status,
        },
        "status.json": {"page": head, "status": status},
        "components.json": {"page": head, "components": component_rows},
        "incidents.json": {"page": head, "incidents": incidents},
        "incidents/unresolved.json": {"page": head, "incidents": unresolved},
        "scheduled-maintenances.json": {"page": head, "scheduled_maintenances": maintenances},
        "scheduled-maintenances/upcoming.json": {"page": head, "scheduled_maintenances": upcoming},
        "scheduled-maintenances/active.json": {"page": head, "scheduled_maintenances": active},
    }
