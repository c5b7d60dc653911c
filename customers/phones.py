"""Phone numbers are stored in E.164; input may be national Chinese format."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_REGION = "CN"


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` in E.164 form, or raise ``ValidationError`` saying why not."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("“%(phone)s” is not a phone number."), params={"phone": raw}, code="invalid") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            _("“%(phone)s” is not a valid phone number for its region."), params={"phone": raw}, code="invalid"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if normalize_phone(value) != value:
        raise ValidationError(_("Store phone numbers in E.164 form, e.g. +8613800138000."), code="not_e164")


def mask_phone(phone: str) -> str:
    """+8613800138000 → +86 138****8000: enough for a customer to recognise, not to dial."""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]} {phone[3:6]}****{phone[-4:]}"
