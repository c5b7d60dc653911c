"""The runtime requirements install everything the runtime imports."""

from __future__ import annotations

import re
from importlib.metadata import requires
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


def _pinned() -> set[str]:
    lines = REQUIREMENTS.read_text().splitlines()
    return {line.split("==")[0].strip().lower() for line in lines if "==" in line and not line.startswith("#")}


def test_runtime_requirements_carry_what_the_redis_broker_needs():
    # given the packages kombu's Redis transport needs (its "redis" extra), which the broker and cache use
    needed = {
        re.split(r"[\s;=<>!~\[]", requirement)[0].lower()
        for requirement in requires("kombu") or []
        if 'extra == "redis"' in requirement
    }

    # then requirements.txt pins each of them: the image and bin/run install only that file
    assert needed
    assert needed - _pinned() == set()


def test_redis_replies_are_parsed_by_hiredis():
    # redis-py falls back to its Python parser without a word when hiredis is missing
    from redis._parsers import _HiredisParser
    from redis.connection import DefaultParser

    assert DefaultParser is _HiredisParser
