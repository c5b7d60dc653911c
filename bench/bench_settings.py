"""The production settings plus one URL: a constant response through the same middleware."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
