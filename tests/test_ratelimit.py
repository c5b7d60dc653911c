from __future__ import annotations

import uuid

import pytest

from notifications.ratelimit import TokenBucket


@pytest.fixture
def bucket_name():
    return f"test-{uuid.uuid4().hex[:8]}"


def test_a_full_bucket_gives_its_burst_then_asks_to_wait(bucket_name):
    bucket = TokenBucket(bucket_name, per_second=5, burst=5)

    takes = [bucket.take() for _ in range(6)]

    assert takes[:5] == [(1, 0)] * 5
    granted, wait = takes[5]
    assert granted == 0 and 0 < wait <= 0.2 + 0.01  # one token every 1/5 s


def test_tokens_are_taken_in_batches_up_to_what_is_there(bucket_name):
    bucket = TokenBucket(bucket_name, per_second=10, burst=10)

    assert bucket.take(4)[0] == 4
    granted, wait = bucket.take(20)

    assert granted == 6  # what was left of the burst, in the same call
    assert 0 < wait <= 0.1 + 0.01


def test_two_workers_share_one_bucket_in_redis(bucket_name):
    first, second = TokenBucket(bucket_name, per_second=2, burst=2), TokenBucket(bucket_name, per_second=2, burst=2)

    assert (first.take(), second.take()) == ((1, 0), (1, 0))
    assert first.take()[0] == 0 and second.take()[0] == 0


def test_without_redis_each_process_keeps_its_own_bucket(bucket_name, settings):
    settings.REDIS_URL = ""
    bucket = TokenBucket(bucket_name, per_second=1, burst=1)

    assert bucket.take() == (1, 0)
    assert bucket.take()[0] == 0
