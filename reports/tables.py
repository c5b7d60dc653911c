"""The dashboard's tables: one definition read by the page and by its CSV export."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compensation.models import CouponSource
from complaints.models import Reason
from incidents.models import AffectedReason
from notifications.models import Channel
from reports import formatting
from reports.selectors import Dashboard


@dataclass
class Table:
    key: str
    title: str
    columns: list[tuple[Any, str]]  # (label, kind: text, count, duration, share, money)
    rows: list[list[Any]] = field(default_factory=list)
    total: list[Any] | None = None

    def display_rows(self) -> list[list[str]]:
        return [self._display(row) for row in self.rows]

    def display_total(self) -> list[str] | None:
        return self._display(self.total) if self.total is not None else None

    def _display(self, row: list[Any]) -> list[str]:
        return [formatting.cell(value, kind) for value, (_label, kind) in zip(row, self.columns, strict=True)]

    def numeric(self) -> list[bool]:
        return [kind != "text" for _label, kind in self.columns]

    def as_csv(self) -> str:
        out = StringIO()
        writer = csv.writer(out)
        writer.writerow([str(label) for label, _kind in self.columns])
        for row in [*self.rows, *([self.total] if self.total is not None else [])]:
            writer.writerow(
                [formatting.csv_cell(value, kind) for value, (_label, kind) in zip(row, self.columns, strict=True)]
            )
        return out.getvalue()


def _incident_row(label: str, row: dict[str, Any]) -> list[Any]:
    return [
        label,
        row["count"],
        row["acknowledge_median"],
        row["acknowledge_p90"],
        row["response_share"],
        row["recover_median"],
        row["recover_p90"],
        row["recovery_share"],
        row["targets_missed"],
    ]


def incidents_by_category(board: Dashboard) -> Table:
    table = Table(
        "incidents",
        _("Incidents by category"),
        [
            (_("Category"), "text"),
            (_("Incidents"), "count"),
            (_("Acknowledged, median"), "duration"),
            (_("Acknowledged, p90"), "duration"),
            (_("Response within target"), "share"),
            (_("Recovered, median"), "duration"),
            (_("Recovered, p90"), "duration"),
            (_("Recovery within target"), "share"),
            (_("Targets missed"), "count"),
        ],
    )
    table.rows = [_incident_row(str(row["category"]), row) for row in board.incidents["by_category"]]
    if board.incidents["total"]["count"]:
        table.total = _incident_row(_("All"), board.incidents["total"])
    return table


def affected_by_reason(customers: dict[str, Any]) -> Table:
    labels = dict(AffectedReason.choices)
    table = Table("affected", _("Affected orders by reason"), [(_("Reason"), "text"), (_("Orders"), "count")])
    table.rows = [
        [str(labels.get(row["reason"], row["reason"])), row["count"]] for row in customers["affected_by_reason"]
    ]
    return table


def delivery_by_channel(customers: dict[str, Any]) -> Table:
    labels = dict(Channel.choices)
    table = Table(
        "delivery",
        _("Messages by channel"),
        [
            (_("Channel"), "text"),
            (_("Messages"), "count"),
            (_("Sent"), "count"),
            (_("Confirmed delivered"), "count"),
            (_("Failed"), "count"),
            (_("Suppressed (no consent)"), "count"),
            (_("Delivery rate"), "share"),
        ],
    )
    table.rows = [
        [
            str(labels.get(channel, channel)),
            row["total"],
            row["sent"],
            row["delivered"],
            row["failed"],
            row["suppressed"],
            row["delivery_rate"],
        ]
        for channel, row in customers["channels"].items()
    ]
    return table


def complaints_by_reason(board: Dashboard) -> Table:
    labels = dict(Reason.choices)
    table = Table("complaints", _("Complaints by reason"), [(_("Reason"), "text"), (_("Complaints"), "count")])
    table.rows = [
        [str(labels.get(row["reason"], row["reason"])), row["count"]] for row in board.complaints["by_reason"]
    ]
    return table


def breaches_by_agent(board: Dashboard) -> Table:
    table = Table(
        "breaches_agent",
        _("Reply deadlines missed, by agent"),
        [(_("Agent"), "text"), (_("Deadlines missed"), "count"), (_("Complaints"), "count")],
    )
    table.rows = [
        [row["complaint__assignee__username"] or _("unassigned"), row["breaches"], row["complaints"]]
        for row in board.complaints["breaches_by_agent"]
    ]
    return table


def breaches_by_incident(board: Dashboard) -> Table:
    table = Table(
        "breaches_incident",
        _("Reply deadlines missed, by incident"),
        [(_("Incident"), "text"), (_("Deadlines missed"), "count"), (_("Complaints"), "count")],
    )
    table.rows = [
        [str(row["incident"]) if row["incident"] else _("no incident"), row["breaches"], row["complaints"]]
        for row in board.complaints["breaches_by_incident"]
    ]
    return table


_COST_COLUMNS: list[tuple[Any, str]] = [
    (gettext_lazy("Coupons issued"), "count"),
    (gettext_lazy("Redeemed"), "count"),
    (gettext_lazy("Cost"), "money"),
    (gettext_lazy("Redeemed value"), "money"),
]


def _cost(row: dict[str, Any]) -> list[Any]:
    return [row["issued"], row["redeemed"], row["cost"], row["redeemed_value"]]


def cost_by_incident(board: Dashboard) -> Table:
    table = Table("cost_incident", _("Compensation by incident"), [(_("Incident"), "text"), *_COST_COLUMNS])
    table.rows = [
        [str(row["incident"]) if row["incident"] else _("no incident (goodwill)"), *_cost(row)]
        for row in board.compensation["by_incident"]
    ]
    if board.compensation["issued"]:
        table.total = [_("All"), *_cost(board.compensation)]
    return table


def rule_label(row: dict[str, Any]) -> str:
    source = dict(CouponSource.choices).get(row["source"], row["source"])
    label = f"{source} ¥{row['value']:.2f}"
    if row["minimum_spend"]:
        label += " · " + _("minimum spend ¥%(amount)s") % {"amount": f"{row['minimum_spend']:.2f}"}
    return label


def cost_by_rule(board: Dashboard) -> Table:
    table = Table("cost_rule", _("Compensation by rule"), [(_("Rule"), "text"), *_COST_COLUMNS])
    table.rows = [[rule_label(row), *_cost(row)] for row in board.compensation["by_rule"]]
    return table


def incident_weeks(board: Dashboard) -> Table:
    table = Table(
        "incident_weeks",
        _("Incidents by week"),
        [(_("Week of"), "text"), (_("Incidents"), "count"), (_("Missing a target"), "count")],
    )
    table.rows = [[week["week"].isoformat(), week["count"], week["missed"]] for week in board.incident_weeks]
    return table


def complaint_weeks(board: Dashboard) -> Table:
    table = Table(
        "complaint_weeks",
        _("Complaints by week"),
        [(_("Week of"), "text"), (_("Complaints"), "count"), (_("Replied within 24 hours"), "share")],
    )
    table.rows = [
        [week["week"].isoformat(), week["count"], week["in_time"] / week["owed"] if week["owed"] else None]
        for week in board.complaint_weeks
    ]
    return table


TABLES: dict[str, Callable[[Dashboard], Table]] = {
    "incidents": incidents_by_category,
    "incident_weeks": incident_weeks,
    "affected": lambda board: affected_by_reason(board.customers),
    "delivery": lambda board: delivery_by_channel(board.customers),
    "complaints": complaints_by_reason,
    "complaint_weeks": complaint_weeks,
    "breaches_agent": breaches_by_agent,
    "breaches_incident": breaches_by_incident,
    "cost_incident": cost_by_incident,
    "cost_rule": cost_by_rule,
}
