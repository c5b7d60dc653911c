"""Fixed-window request limits kept in the shared cache (Redis in production)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    # Behind nginx, TrustedProxyMiddleware has put the client's address here (from
    # X-Real-IP, only when nginx sent it); trusting any header here would let anyone pick an IP.
    return request.META.get("REMOTE_ADDR", "unknown")


def rate_limited(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; ``True`` once ``limit`` attempts were made in this window.

    A dead cache lets requests through (and logs it): a status page must keep
    answering when Redis is in trouble.
    """
    cache_key = f"ratelimit:{scope}:{key}"
    try:
        added = cache.add(cache_key, 1, timeout=window_seconds)
        count = 1 if added else cache.incr(cache_key)
    except Exception as error:  # noqa: BLE001
        logger.warning("rate limit unavailable", extra={"scope": scope, "error": type(error).__name__})
        return False
    return count > limit


def proof_attempts_exceeded(
    request: HttpRequest, *, scope: str, tracking_number: str, per_ip: int, per_parcel: int, window_seconds: int
) -> bool:
    """Counts one attempt at proving a parcel (tracking number + phone digits) against
    both the caller's IP and the parcel, so neither sweeping numbers from one address
    nor guessing one parcel's digits from many addresses gets far."""
    by_ip = rate_limited(f"{scope}-ip", client_ip(request), limit=per_ip, window_seconds=window_seconds)
    by_parcel = rate_limited(f"{scope}-parcel", tracking_number, limit=per_parcel, window_seconds=window_seconds)
    return by_ip or by_parcel
