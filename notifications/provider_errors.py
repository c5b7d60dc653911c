"""What each provider failure means for the message: retry later, or give up now.

Data, not scattered ifs: add a code here and the sender follows it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorRule:
    permanent: bool
    opt_out: bool = False
    meaning: str = ""


# Twilio error codes (https://www.twilio.com/docs/api/errors).
TWILIO_ERRORS: dict[int, ErrorRule] = {
    20429: ErrorRule(permanent=False, meaning="too many requests"),
    20500: ErrorRule(permanent=False, meaning="Twilio internal error"),
    20503: ErrorRule(permanent=False, meaning="service unavailable"),
    30001: ErrorRule(permanent=False, meaning="queue overflow"),
    30002: ErrorRule(permanent=True, meaning="account suspended"),
    30003: ErrorRule(permanent=True, meaning="unreachable destination handset"),
    30005: ErrorRule(permanent=True, meaning="unknown destination handset"),
    30006: ErrorRule(permanent=True, meaning="landline or unreachable carrier"),
    30007: ErrorRule(permanent=True, meaning="carrier filtered the message"),
    30008: ErrorRule(permanent=False, meaning="unknown error"),
    21211: ErrorRule(permanent=True, meaning="invalid 'To' phone number"),
    21408: ErrorRule(permanent=True, meaning="region not enabled"),
    21610: ErrorRule(permanent=True, opt_out=True, meaning="recipient replied STOP"),
    21612: ErrorRule(permanent=True, meaning="cannot route to this number"),
    21614: ErrorRule(permanent=True, meaning="'To' is not a mobile number"),
}
# HTTP statuses worth a retry when the body carries no known code.
TRANSIENT_HTTP_STATUSES = {408, 425, 429, 500, 502, 503, 504}


def twilio_rule(*, code: int | None, http_status: int | None) -> ErrorRule:
    if code is not None and code in TWILIO_ERRORS:
        return TWILIO_ERRORS[code]
    if http_status is not None and http_status in TRANSIENT_HTTP_STATUSES:
        return ErrorRule(permanent=False, meaning=f"HTTP {http_status}")
    return ErrorRule(permanent=True, meaning=f"error {code or http_status}")
