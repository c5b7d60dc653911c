"""A token bucket in Redis, shared by every worker: N SMS per second in all.

Without Redis (the embedded development setup) each process keeps its own
bucket at the same rate, which is as close as one machine needs.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

# Returns 0 when a token was taken, else the milliseconds until one is due.
# Redis's own clock keeps all workers on one time line.
_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""


class TokenBucket:
    def __init__(self, name: str, *, per_second: float, burst: int | None = None) -> None:
        self.key = f"ratelimit:{name}"
        self.per_second = per_second
        self.capacity = burst or max(1, int(per_second))
        self._script = None
        self._local_lock = threading.Lock()
        self._local_tokens = float(self.capacity)
        self._local_at = time.monotonic()
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
            self._script = client.register_script(_BUCKET_LUA)

    def acquire(self, *, timeout: float = 60) -> None:
        """Block until a token is free (at most ``timeout`` seconds, then go ahead)."""
        deadline = time.monotonic() + timeout
        while True:
            wait = self._take()
            if wait <= 0 or time.monotonic() + wait > deadline:
                return
            time.sleep(wait)

    def _take(self) -> float:
        if self._script is not None:
            try:
                return int(self._script(keys=[self.key], args=[self.per_second, self.capacity])) / 1000
            except Exception as error:  # noqa: BLE001 - a dead Redis must not stop sending; fall back locally
                logger.warning("rate limiter falls back to this process", extra={"error": type(error).__name__})
        with self._local_lock:
            now = time.monotonic()
            self._local_tokens = min(self.capacity, self._local_tokens + (now - self._local_at) * self.per_second)
            self._local_at = now
            if self._local_tokens >= 1:
                self._local_tokens -= 1
                return 0
            return (1 - self._local_tokens) / self.per_second


_buckets: dict[str, TokenBucket] = {}


def sms_bucket() -> TokenBucket:
    if "sms" not in _buckets:
        _buckets["sms"] = TokenBucket("sms", per_second=settings.SMS_RATE_PER_SECOND)
    return _buckets["sms"]
