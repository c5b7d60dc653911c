"""Staff templates: named placeholders only, never the template language.

``{tracking_number}`` is filled in; ``{customer.__class__}``, ``{0}``, format
specs and conversions are refused, so a template can neither reach into
Python objects nor break at send time.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PLACEHOLDERS = {
    "customer_name": "王芳",
    "tracking_number": "SF1234567890123",
    "parcel_count": "1",
    "incident_title": "受台风影响,广州白云转运中心暂停作业",
    "update_text": "部分包裹已改由深圳宝安转运中心中转。",
    "new_estimate": "11月25日 18:00",
    "estimated_recovery": "11月24日 12:00",
    "link": "https://status.example.com/track/",
    "complaint_reference": "TS261122AB3CDE",
    "reply_text": "您好,您的包裹已安排今天派送。",
    "coupon_code": "7KQM-3TXR-PW9C-H4ZD",
    "coupon_value": "20",
    "coupon_valid_until": "12月22日",
    "code": "482913",
    "status": "处理中",
}
_FORMATTER = string.Formatter()


def template_placeholders(text: str) -> list[str]:
    """The placeholder names in ``text``; ``ValidationError`` for anything else."""
    names = []
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as error:
        raise ValidationError(
            _("The braces do not match: %(error)s. Write {{ and }} for a literal brace.") % {"error": error}
        ) from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise ValidationError(
                _("Unknown placeholder {%(name)s}. Use only: %(allowed)s.")
                % {
                    "name": name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else ""),
                    "allowed": ", ".join(f"{{{key}}}" for key in PLACEHOLDERS),
                }
            )
        names.append(name)
    return names


_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def render(text: str, context: Mapping[str, str]) -> str:
    """Fill the named placeholders; an empty one leaves no run of blank lines behind."""
    template_placeholders(text)
    filled = text.format_map({name: context.get(name, "") for name in PLACEHOLDERS})
    return _BLANK_LINES.sub("\n\n", filled).strip()


# Free text staff write, cut (in this order) when an SMS would run past its segments;
# the link and the fixed wording stay whole.
_SHORTENED_IN_SMS = ("update_text", "reply_text", "incident_title")


def render_sms(text: str, context: Mapping[str, str], *, max_segments: int) -> str:
    """``render``, with the free text shortened so the SMS fits in ``max_segments``.

    A long update becomes its beginning and an ellipsis; the message still
    carries its link to the whole text. A template that is too long by itself
    is sent as it is.
    """
    body = render(text, context)
    if sms_size(body).segments <= max_segments:
        return body
    values = dict(context)
    for name in _SHORTENED_IN_SMS:
        whole = values.get(name, "")
        if not whole:
            continue
        shortest, longest = 0, len(whole)
        while shortest < longest:  # the longest beginning that still fits
            middle = (shortest + longest + 1) // 2
            values[name] = _shortened(whole, middle)
            if sms_size(render(text, values)).segments <= max_segments:
                shortest = middle
            else:
                longest = middle - 1
        values[name] = _shortened(whole, shortest)
        body = render(text, values)
        if sms_size(body).segments <= max_segments:
            return body
    return body


def _shortened(text: str, length: int) -> str:
    if length >= len(text):
        return text
    # "…" is not in the GSM alphabet: it would turn an English SMS into UCS-2 and halve its room.
    ellipsis = "..." if sms_size(text).encoding == "GSM-7" else "…"
    return text[: max(0, length - len(ellipsis))].rstrip() + ellipsis


def one_line(text: str, *, max_length: int) -> str:
    """A subject line: line breaks (which no mail header may carry) become spaces, cut to fit its column."""
    flat = " ".join(text.split())
    return flat if len(flat) <= max_length else flat[: max_length - 1].rstrip() + "…"


# GSM 03.38 basic alphabet and extension table; anything else makes the SMS UCS-2.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSize:
    encoding: str
    characters: int
    segments: int


def sms_size(text: str) -> SmsSize:
    """Length and segment count as the carrier bills it.

    UCS-2 (any Chinese character): 70 characters in one segment, 67 per segment
    when concatenated. GSM-7: 160, or 153 per segment; extension characters count twice.
    """
    if all(character in _GSM_BASIC or character in _GSM_EXTENDED for character in text):
        units = sum(2 if character in _GSM_EXTENDED else 1 for character in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        # Characters outside the Basic Multilingual Plane take two UCS-2 units.
        units = sum(2 if ord(character) > 0xFFFF else 1 for character in text)
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    return SmsSize(encoding=encoding, characters=units, segments=segments)
