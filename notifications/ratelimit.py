"""A token bucket in Redis, shared by every worker: N SMS per second in all, per sender.

Tokens are taken in batches (one Redis call for up to a window of messages, not
one per message). Without Redis (the embedded development setup), or while Redis
is down, each process keeps its own bucket at the same rate, which is as close as
one machine needs.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

# Returns {granted, milliseconds until the next token}. Redis's own clock keeps
# all workers on one time line.
_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
local wait = 0
if granted < wanted then wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return {granted, wait}
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

    def take(self, wanted: int = 1) -> tuple[int, float]:
        """Take up to ``wanted`` tokens at once: (how many were granted, seconds until
        the next one is due when fewer were)."""
        if self._script is not None:
            try:
                granted, wait = self._script(keys=[self.key], args=[self.per_second, self.capacity, wanted])
                return int(granted), int(wait) / 1000
            except Exception as error:  # noqa: BLE001 - a dead Redis must not stop sending; fall back locally
                logger.warning("rate limiter falls back to this process", extra={"error": type(error).__name__})
        with self._local_lock:
            now = time.monotonic()
            self._local_tokens = min(self.capacity, self._local_tokens + (now - self._local_at) * self.per_second)
            self._local_at = now
            granted = min(wanted, math.floor(self._local_tokens))
            self._local_tokens -= granted
            wait = 0.0 if granted == wanted else (1 - self._local_tokens) / self.per_second
            return granted, wait


_buckets: dict[tuple[str, float], TokenBucket] = {}


def sms_bucket(sender: str) -> TokenBucket:
    """The bucket of one sender (a number, or the Messaging Service): SMS_RATE_PER_SECOND each."""
    key = (sender, float(settings.SMS_RATE_PER_SECOND))
    if key not in _buckets:
        _buckets[key] = TokenBucket(f"sms:{sender or 'default'}", per_second=settings.SMS_RATE_PER_SECOND)
    return _buckets[key]
