"""Staff templates: named placeholders only, never the template language.

``{tracking_number}`` is filled in; ``{customer.__class__}``, ``{0}``, format
specs and conversions are refused, so a template can neither reach into
Python objects nor break at send time.
"""

from __future__ import annotations

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


def render(text: str, context: Mapping[str, str]) -> str:
    template_placeholders(text)
    return text.format_map({name: context.get(name, "") for name in PLACEHOLDERS})


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
