from __future__ import annotations

from django import template

from reports import formatting

register = template.Library()

register.filter("duration", formatting.duration)
register.filter("share", formatting.share)
register.filter("money", formatting.money)
register.filter("count", formatting.count)

# A share of targets met reads green from 95 %, amber from 80 %, red below.
GOOD_SHARE, FAIR_SHARE = 0.95, 0.8


@register.filter
def share_class(value: float | None) -> str:
    if value is None:
        return ""
    if value >= GOOD_SHARE:
        return "ok"
    return "warn" if value >= FAIR_SHARE else "bad"


@register.filter
def localized_body(update: object) -> str:
    """The timeline entry's rendered Markdown in the active language (Chinese when there is no English)."""
    from django.utils.translation import get_language

    # Sanitised with nh3 when it was written; the template marks it safe, as the desk does.
    english = getattr(update, "body_en_html", "")
    if (get_language() or "").startswith("en") and english:
        return english
    return getattr(update, "body_zh_html", "")


@register.filter
def localized_field(instance: object, field: str) -> str:
    localized = getattr(instance, "localized", None)
    return localized(field) if localized else ""
