"""Fixed-window request limits kept in the shared cache (Redis in production)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    # Behind nginx, TrustedProxyMiddleware has put the client's address here (from
    # X-Real-IP, only when nginx sent it); trusting any header here would let anyone pick an IP.
    address: str = request.META.get("REMOTE_ADDR", "unknown")
    return address


def client_key(request: HttpRequest) -> str:
    """Who a limit counts against: the IPv4 address, or the IPv6 client's /64.

    One IPv6 subscriber holds a whole /64 (often more), so keying on the full
    address would give every rotation a fresh bucket.
    """
    return address_key(client_ip(request))


def address_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def rate_limited(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt; ``True`` once ``limit`` attempts were made in this window.

    A dead cache lets requests through (and logs it): a status page must keep
    answering when Redis is in trouble.
    """
    try:
        [count] = _count_and_read([f"ratelimit:{scope}:{key}"], [], window_seconds=window_seconds)
    except Exception as error:  # noqa: BLE001
        logger.warning("rate limit unavailable", extra={"scope": scope, "error": type(error).__name__})
        return False
    return count > limit


# --- proving a parcel (tracking number + last four phone digits) --------------------------
# A parcel whose limit wrong answers have used up is not locked: a caller who has not
# tried it yet is let through after this cool-down, so a stranger's guessing never keeps
# the owner out for long, and each further guess costs the guesser a new address and a wait.
PROOF_COOLDOWN_SECONDS = 60


def _proof_keys(scope: str, tracking_number: str, caller: str) -> dict[str, str]:
    parcel = hashlib.sha256(tracking_number.encode()).hexdigest()[:24]
    return {
        "caller": f"ratelimit:{scope}-ip:{caller}",
        "parcel": f"ratelimit:{scope}-parcel:{parcel}",
        "caller_on_parcel": f"ratelimit:{scope}-failed:{parcel}:{caller}",
        "ticket": f"ratelimit:{scope}-ticket:{parcel}:{caller}",
    }


def proof_attempt_refused(
    request: HttpRequest, *, scope: str, tracking_number: str, per_ip: int, per_parcel: int, window_seconds: int
) -> int:
    """Whether this attempt at proving a parcel is refused: 0 to go ahead, else the seconds to wait.

    Counts the attempt against the caller's address (or IPv6 /64): sweeping many
    numbers from one place stops at ``per_ip``. Wrong answers are counted against the
    parcel afterwards by ``proof_failure_record``, and only for callers not refused.
    Once the parcel has had ``per_parcel`` wrong answers, a caller who has already
    answered it wrongly waits for the window to pass; a caller new to it waits
    ``PROOF_COOLDOWN_SECONDS`` and then has its try. A dead cache lets requests through.
    """
    return proof_attempt_counting(
        request,
        scope=scope,
        tracking_number=tracking_number,
        per_ip=per_ip,
        per_parcel=per_parcel,
        window_seconds=window_seconds,
    )()


def proof_attempt_counting(
    request: HttpRequest, *, scope: str, tracking_number: str, per_ip: int, per_parcel: int, window_seconds: int
) -> Callable[[], int]:
    """``proof_attempt_refused``, asked now and answered when the returned function is called.

    The parcel lookup reads the parcel while Redis counts the attempt: the two round trips
    overlap, and a worker waits once per lookup instead of twice. Nothing read in the
    meantime may be shown before the answer is 0; the answer must be asked for before the
    thread counts anything else (an exchange left unanswered is dropped by the next one).
    """
    caller = client_key(request)
    keys = _proof_keys(scope, tracking_number, caller)
    try:
        counts = _count_and_read_start(
            [keys["caller"]], [keys["parcel"], keys["caller_on_parcel"]], window_seconds=window_seconds
        )
    except Exception as error:  # noqa: BLE001
        logger.warning("rate limit unavailable", extra={"scope": scope, "error": type(error).__name__})
        return lambda: 0

    def refused() -> int:
        try:
            attempts, parcel_failures, caller_failures = counts()
            if attempts > per_ip:
                return window_seconds
            if parcel_failures < per_parcel:
                return 0
            if caller_failures:
                return window_seconds
            now = time.time()
            cache.add(keys["ticket"], now, timeout=window_seconds)
            waited = now - float(cache.get(keys["ticket"], now))
        except Exception as error:  # noqa: BLE001
            logger.warning("rate limit unavailable", extra={"scope": scope, "error": type(error).__name__})
            return 0
        return 0 if waited >= PROOF_COOLDOWN_SECONDS else max(1, round(PROOF_COOLDOWN_SECONDS - waited))

    return refused


def proof_failure_record(request: HttpRequest, *, scope: str, tracking_number: str, window_seconds: int) -> None:
    """A wrong answer for this parcel, from a caller that was let through."""
    keys = _proof_keys(scope, tracking_number, client_key(request))
    try:
        _count_and_read([keys["parcel"], keys["caller_on_parcel"]], [], window_seconds=window_seconds)
    except Exception as error:  # noqa: BLE001
        logger.warning("rate limit unavailable", extra={"scope": scope, "error": type(error).__name__})


# Count one attempt on each of the first ARGV[2] keys (a window of ARGV[1] seconds from the
# first attempt) and read the counters in the rest (a missing one is nil).
_COUNT_AND_READ = """
local counted = tonumber(ARGV[2])
local answer = {}
for index = 1, #KEYS do
  if index <= counted then
    redis.call('SET', KEYS[index], 0, 'EX', ARGV[1], 'NX')
    answer[index] = redis.call('INCR', KEYS[index])
  else
    answer[index] = redis.call('GET', KEYS[index])
  end
end
return answer
"""


def _count_and_read(count_keys: list[str], read_keys: list[str], *, window_seconds: int) -> list[int]:
    """Count one attempt on each of ``count_keys`` and read ``read_keys``: their counts, in order.

    One round trip to Redis, a script rather than a pipeline: a crowd of parcel lookups in
    an outage checks on every request. The keys are the cache's own (prefix, version), so
    the cache API reads the same counters. Without Redis (the embedded quick start) the
    cache API does it.
    """
    return _count_and_read_start(count_keys, read_keys, window_seconds=window_seconds)()


def _count_and_read_start(
    count_keys: list[str], read_keys: list[str], *, window_seconds: int
) -> Callable[[], list[int]]:
    """``_count_and_read`` sent now; the returned function waits for the counts."""
    if not settings.REDIS_URL:
        counted = [1 if cache.add(key, 1, timeout=window_seconds) else cache.incr(key) for key in count_keys]
        read = cache.get_many(read_keys)
        counts = [*counted, *(read.get(key, 0) for key in read_keys)]
        return lambda: counts
    # make_key, not make_and_validate_key: the check warns of keys memcached would refuse,
    # and these are ours (hex digests and addresses), read by Redis.
    make_key = caches["default"].make_key
    keys = [make_key(key) for key in (*count_keys, *read_keys)]
    answer = _script_start(keys, [window_seconds, len(count_keys)])
    return lambda: [int(value or 0) for value in answer()]


_SCRIPT_SHA = hashlib.sha1(_COUNT_AND_READ.encode(), usedforsecurity=False).hexdigest()


class _HeldConnection(threading.local):
    """Each thread's own connection for the script, kept between requests, in the process
    that opened it (a worker forked from a master that had used it must not share its socket)."""

    client: redis.Redis | None = None
    process: int = 0
    connection: Any = None  # redis-py's ConnectionInterface, whose methods carry no types
    exchange: int = 0  # the script last sent on it
    unanswered: bool = False  # its answer not read yet


_held = _HeldConnection()


def _script_start(keys: list[str], args: list[int]) -> Callable[[], Any]:
    """The script sent on this thread's own connection; the returned function reads its answer.

    redis-py's command path (taking a connection from the pool and giving it back, its retry
    and telemetry wrappers) cost as much CPU as the round trip itself. What that path did
    here is kept: a kept connection found closed (Redis restarted since) is opened again and
    the command sent once more; a Redis that forgot the script (restarted, SCRIPT FLUSH) is
    sent it whole. A failure to connect or a timeout is the caller's to handle at once: no
    second wait, and no attempt counted twice.
    """
    client = _redis()
    connection = _held.connection
    if connection is None or _held.client is not client or _held.process != os.getpid():
        connection = client.connection_pool.make_connection()
        _held.client, _held.process, _held.connection, _held.unanswered = client, os.getpid(), connection, False
    if _held.unanswered:
        connection.disconnect()  # an answer nobody asked for would be read as the next one's
    _held.exchange += 1
    exchange, was_open = _held.exchange, connection.is_connected
    try:
        connection.send_command("EVALSHA", _SCRIPT_SHA, len(keys), *keys, *args)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        answer = _script_after(error, connection, was_open=was_open, keys=keys, args=args)
        return lambda: answer
    _held.unanswered = True

    def answered() -> Any:
        if _held.exchange != exchange:
            raise RuntimeError("a rate-limit answer asked for after the thread sent another script")
        _held.unanswered = False
        try:
            return _script_answer(connection, keys, args)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            return _script_after(error, connection, was_open=was_open, keys=keys, args=args)

    return answered


def _script_after(error: Exception, connection: Any, *, was_open: bool, keys: list[str], args: list[int]) -> Any:
    """After a failed send or read: the script once more on a new socket, if the failed one was
    a kept connection found closed; else the error stands."""
    connection.disconnect()  # an answer may still be on its way: never read this socket again
    if not was_open or isinstance(error, redis.TimeoutError):
        raise error
    try:
        connection.send_command("EVALSHA", _SCRIPT_SHA, len(keys), *keys, *args)
        return _script_answer(connection, keys, args)
    except (redis.ConnectionError, redis.TimeoutError):
        connection.disconnect()
        raise


def _script_answer(connection: Any, keys: list[str], args: list[int]) -> Any:
    try:
        return connection.read_response()
    except redis.exceptions.NoScriptError:
        connection.send_command("EVAL", _COUNT_AND_READ, len(keys), *keys, *args)
        return connection.read_response()


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


# --- admin sign-in --------------------------------------------------------------------------
# Failed sign-ins allowed per window: for one username from one address, and for
# all usernames from one address (someone trying many accounts).
LOGIN_FAILURES_PER_USER = 5
LOGIN_FAILURES_PER_IP = 20
# And for one username from any addresses: a botnet spreading guesses over many
# addresses still gets this many per window (the price: such a botnet can pause
# an account's sign-in for the window, which the real user hears about as "try later").
LOGIN_FAILURES_PER_ACCOUNT = 20
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60


def _login_keys(ip: str, username: str) -> tuple[str, str, str]:
    # Hashed: usernames are free text; the key must stay a short plain token.
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:24]
    ip = address_key(ip)
    return f"login-failures:ip-user:{ip}:{user}", f"login-failures:ip:{ip}", f"login-failures:user:{user}"


def login_throttled(*, ip: str, username: str) -> bool:
    """Whether sign-in from this address for this username is paused: too many failures
    for the username from this address, from this address, or for the username from
    anywhere. A dead cache lets sign-in through (and logs it): staff must reach the
    desk during an outage."""
    per_user, per_ip, per_account = _login_keys(ip, username)
    try:
        counts: dict[str, int] = cache.get_many([per_user, per_ip, per_account])
    except Exception as error:  # noqa: BLE001
        logger.warning("login throttle unavailable", extra={"error": type(error).__name__})
        return False
    return (
        counts.get(per_user, 0) >= LOGIN_FAILURES_PER_USER
        or counts.get(per_ip, 0) >= LOGIN_FAILURES_PER_IP
        or counts.get(per_account, 0) >= LOGIN_FAILURES_PER_ACCOUNT
    )


def login_failure_record(*, ip: str, username: str) -> None:
    for key in _login_keys(ip, username):
        try:
            if not cache.add(key, 1, timeout=LOGIN_FAILURE_WINDOW_SECONDS):
                cache.incr(key)
        except Exception as error:  # noqa: BLE001
            logger.warning("login throttle unavailable", extra={"error": type(error).__name__})
            return


def login_success_record(*, ip: str, username: str) -> None:
    per_user, _per_ip, _per_account = _login_keys(ip, username)
    # A dead cache: the counter expires by itself.
    with contextlib.suppress(Exception):
        cache.delete(per_user)
