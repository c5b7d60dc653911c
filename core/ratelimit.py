"""Fixed-window request limits kept in the shared cache (Redis in production)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging

import redis
from django.conf import settings
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
    return _limits_reached([(scope, key, limit)], window_seconds=window_seconds)


def proof_attempts_exceeded(
    request: HttpRequest, *, scope: str, tracking_number: str, per_ip: int, per_parcel: int, window_seconds: int
) -> bool:
    """Counts one attempt at proving a parcel (tracking number + phone digits) against
    both the caller's IP and the parcel, so neither sweeping numbers from one address
    nor guessing one parcel's digits from many addresses gets far."""
    return _limits_reached(
        [(f"{scope}-ip", client_ip(request), per_ip), (f"{scope}-parcel", tracking_number, per_parcel)],
        window_seconds=window_seconds,
    )


def _limits_reached(counters: list[tuple[str, str, int]], *, window_seconds: int) -> bool:
    """Count one attempt on each (scope, key, limit); whether any is past its limit."""
    cache_keys = [f"ratelimit:{scope}:{key}" for scope, key, _limit in counters]
    try:
        counts = _count_attempts(cache_keys, window_seconds=window_seconds)
    except Exception as error:  # noqa: BLE001
        logger.warning(
            "rate limit unavailable", extra={"scopes": [c[0] for c in counters], "error": type(error).__name__}
        )
        return False
    return any(count > limit for count, (_scope, _key, limit) in zip(counts, counters, strict=True))


def _count_attempts(cache_keys: list[str], *, window_seconds: int) -> list[int]:
    if not settings.REDIS_URL:
        return [1 if cache.add(key, 1, timeout=window_seconds) else cache.incr(key) for key in cache_keys]
    # One round trip for every counter instead of three commands each through the cache
    # API: the parcel lookup, which counts two, is what a crowd runs in an outage. The
    # keys are the cache's own (prefix, version), so the cache API reads the same counters.
    pipeline = _redis().pipeline(transaction=False)
    for key in cache_keys:
        full_key = cache.make_and_validate_key(key)
        pipeline.set(full_key, 0, ex=window_seconds, nx=True)
        pipeline.incr(full_key)
    return pipeline.execute()[1::2]


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


# --- admin sign-in --------------------------------------------------------------------------
# Failed sign-ins allowed per window: for one username from one address, and for
# all usernames from one address (someone trying many accounts).
LOGIN_FAILURES_PER_USER = 5
LOGIN_FAILURES_PER_IP = 20
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60


def _login_keys(ip: str, username: str) -> tuple[str, str]:
    # Hashed: usernames are free text; the key must stay a short plain token.
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:24]
    return f"login-failures:ip-user:{ip}:{user}", f"login-failures:ip:{ip}"


def login_throttled(*, ip: str, username: str) -> bool:
    """Whether sign-in from this address for this username is paused. A dead cache
    lets sign-in through (and logs it): staff must reach the desk during an outage."""
    per_user, per_ip = _login_keys(ip, username)
    try:
        counts = cache.get_many([per_user, per_ip])
    except Exception as error:  # noqa: BLE001
        logger.warning("login throttle unavailable", extra={"error": type(error).__name__})
        return False
    return counts.get(per_user, 0) >= LOGIN_FAILURES_PER_USER or counts.get(per_ip, 0) >= LOGIN_FAILURES_PER_IP


def login_failure_record(*, ip: str, username: str) -> None:
    for key in _login_keys(ip, username):
        try:
            if not cache.add(key, 1, timeout=LOGIN_FAILURE_WINDOW_SECONDS):
                cache.incr(key)
        except Exception as error:  # noqa: BLE001
            logger.warning("login throttle unavailable", extra={"error": type(error).__name__})
            return


def login_success_record(*, ip: str, username: str) -> None:
    per_user, _ = _login_keys(ip, username)
    # A dead cache: the counter expires by itself.
    with contextlib.suppress(Exception):
        cache.delete(per_user)
