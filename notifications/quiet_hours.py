"""Quiet hours in the recipient's own time: no non-critical SMS between QUIET_HOURS_START and _END.

The recipient's time zone comes from their phone number's country (and area, where
a country spans several zones and the number tells which); when the number does
not say, the site's ``TIME_ZONE``.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

from django.conf import settings
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX


def _zones_of(digits: str) -> tuple[str, ...]:
    """Time zones of a number from the longest prefix libphonenumber knows (country, area)."""
    for length in range(min(len(digits), TIMEZONE_LONGEST_PREFIX), 0, -1):
        zones = TIMEZONE_DATA.get(digits[:length])
        if zones:
            return tuple(zone for zone in zones if zone != "Etc/Unknown")
    return ()


@lru_cache(maxsize=8192)
def _zone_name(prefix: str, hour: int) -> str:
    # One zone, or several that keep the same time this hour (London and Jersey):
    # that one. Several that disagree (a US number without its area): the site's.
    zones = _zones_of(prefix)
    moment = datetime.fromtimestamp(hour * 3600, tz=UTC)
    offsets = {moment.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() for zone in zones}
    return zones[0] if zones and len(offsets) == 1 else settings.TIME_ZONE


def recipient_zone(phone: str, *, now: datetime | None = None) -> tzinfo:
    """The time zone of an E.164 number; ``TIME_ZONE`` when the number does not tell."""
    if not phone.startswith("+"):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)
    hour = int((now or datetime.now(UTC)).timestamp() // 3600)
    return zoneinfo.ZoneInfo(_zone_name(phone[1 : 1 + TIMEZONE_LONGEST_PREFIX], hour))


def quiet_hours_release(now: datetime, *, zone: tzinfo | None = None) -> datetime:
    """When a non-critical SMS due at ``now`` may go out: ``now``, or the end of quiet hours."""
    local = now.astimezone(zone or zoneinfo.ZoneInfo(settings.TIME_ZONE))
    start, end = settings.QUIET_HOURS_START, settings.QUIET_HOURS_END
    if start == end:
        return now
    in_quiet = (local.hour >= start or local.hour < end) if start > end else (start <= local.hour < end)
    if not in_quiet:
        return now
    release = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return release
