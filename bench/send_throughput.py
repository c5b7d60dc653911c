"""SMS sending throughput: our path beside a bare loop of the same SDK calls.

    .venv/bin/python bench/send_throughput.py --messages 2000 --latency 0.02

A local Twilio stand-in runs as its own process (``devtools.fake_twilio``,
answering after ``--latency`` seconds, as the real API takes tens to hundreds of
milliseconds). In one process, one after the other:

* ours: ``notifications_send`` in chunks of 500, as the worker's task runs it —
        claim, render, rate-limit check, the SDK call, the status update;
* bare: ``client.messages.create`` with the same SDK client, same bodies.

Prints both rates, the ratio ours/bare, and the process's memory at each quarter
(it should stay flat: rows are loaded one at a time).
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
from _scratch import affected_customers, setup_django_on_scratch_database  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.02)
    arguments = parser.parse_args()

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "devtools.fake_twilio", "--port", str(port), "--latency", str(arguments.latency)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        run(arguments, f"http://127.0.0.1:{port}")
    finally:
        server.terminate()


def run(arguments: argparse.Namespace, base_url: str) -> None:
    setup_django_on_scratch_database()
    from django.conf import settings

    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "bench-token"
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_API_BASE_URL, settings.SMS_ENABLED = "+15005550006", base_url, True
    settings.SMS_RATE_PER_SECOND = 100_000
    settings.QUIET_HOURS_START = settings.QUIET_HOURS_END = 0

    from notifications.models import Notification
    from notifications.services import DISPATCH_CHUNK, incident_affected_customers_notify, notifications_send
    from notifications.transports import _twilio_client

    count = arguments.messages
    incident, _supervisor = affected_customers(count=count, prefix="BN")
    incident_affected_customers_notify(incident=incident)
    ids = list(Notification.objects.filter(channel="sms", status="pending").order_by("id").values_list("id", flat=True))
    assert len(ids) == count, len(ids)
    bodies = []

    memory = [rss_mib()]
    quarter = count // 4
    started = time.perf_counter()
    for start in range(0, count, DISPATCH_CHUNK):
        outcomes = notifications_send(ids=ids[start : start + DISPATCH_CHUNK])
        assert set(outcomes.values()) == {"sent"}, outcomes
        if (start + DISPATCH_CHUNK) % quarter < DISPATCH_CHUNK:
            memory.append(rss_mib())
    ours = time.perf_counter() - started
    bodies = list(Notification.objects.filter(id__in=ids).order_by("id").values_list("recipient", "body"))

    client = _twilio_client()
    started = time.perf_counter()
    for recipient, body in bodies:
        client.messages.create(
            to=recipient,
            from_=settings.TWILIO_FROM_NUMBER,
            body=body,
            status_callback=f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/status",
        )
    bare = time.perf_counter() - started

    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    print(
        f"{count:,} SMS, stand-in latency {arguments.latency * 1000:.0f} ms, one process:\n"
        f"  notifications_send  {ours:6.2f} s  ({count / ours:,.0f} msg/s)\n"
        f"  bare SDK loop       {bare:6.2f} s  ({count / bare:,.0f} msg/s)\n"
        f"  ratio ours/bare     {bare / ours:6.2f}  (1.00 = no overhead over the SDK call itself; target ≥ 0.80)\n"
        f"  memory (RSS, MiB) at 0/25/50/75/100 %: {' / '.join(f'{value:.0f}' for value in memory)}"
    )


if __name__ == "__main__":
    main()
