from __future__ import annotations

import uuid

import pytest

from notifications.ratelimit import TokenBucket


@pytest.fixture
def bucket_name():
    return f"test-{uuid.uuid4().hex[:8]}"


def test_a_full_bucket_gives_its_burst_then_asks_to_wait(bucket_name):
    bucket = TokenBucket(bucket_name, per_second=5, burst=5)

    waits = [bucket._take() for _ in range(6)]

    assert waits[:5] == [0, 0, 0, 0, 0]
    assert 0 < waits[5] <= 0.2 + 0.01  # one token every 1/5 s


def test_two_workers_share_one_bucket_in_redis(bucket_name):
    first, second = TokenBucket(bucket_name, per_second=2, burst=2), TokenBucket(bucket_name, per_second=2, burst=2)

    assert (first._take(), second._take()) == (0, 0)
    assert first._take() > 0 and second._take() > 0


def test_without_redis_each_process_keeps_its_own_bucket(bucket_name, settings):
    settings.REDIS_URL = ""
    bucket = TokenBucket(bucket_name, per_second=1, burst=1)

    assert bucket._take() == 0
    assert bucket._take() > 0
