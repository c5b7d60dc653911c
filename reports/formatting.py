"""How the figures read: durations, shares and money, in the active language."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

DASH = "—"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


def share(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.0f}%"


def money(value: Decimal | None) -> str:
    return DASH if value is None else f"¥{value:,.2f}"


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


FORMATS: dict[str, Callable[[Any], str]] = {
    "duration": duration,
    "share": share,
    "money": money,
    "count": count,
    "text": str,
}


def cell(value: object, kind: str) -> str:
    if value is None:
        return DASH
    return FORMATS[kind](value)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, kind: str) -> Any:
    """Machine-readable: durations in minutes, shares as fractions, money without the sign."""
    if value is None:
        return ""
    if kind == "duration":
        return f"{value / 60:.1f}"
    if kind == "share":
        return f"{value:.4f}"
    if kind == "money":
        return f"{value:.2f}"
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        # A spreadsheet runs a cell starting with these as a formula (CSV injection):
        # a leading apostrophe makes it text. Names and titles are typed by anyone.
        return "'" + value
    return value
