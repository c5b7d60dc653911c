"""Sending alone, one worker process: our sender beside the ceiling, side by side.

    .venv/bin/python -m bench.send_throughput --messages 5000 --latency 0.2
    .venv/bin/python -m bench.send_throughput --messages 5000 --latency 0.2 --channel email

The provider stand-ins run in their own processes (Twilio answering after
``--latency``; SMTP costing ``--connect-delay`` a connection and ``--message-delay``
a message). In one run:

* ours: ``notifications_send`` over the rows, as one worker task runs it — claim,
  consent, render, the SDK call or the reused SMTP connection, the batched
  bookkeeping — with ``--in-flight`` sends outstanding;
* ceiling: ``bench.ceiling``, a bare asyncio client pushing the same requests with
  the same number in flight (and SMTP connections) from one process: what the
  stand-ins let through, the best any sender could do. Not a sequential loop:
  one request after another is not what a provider accepts.

Prints both rates, the ratio, and the process's memory at each quarter.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import subprocess
import sys
import time

from devtools.harness import ROOT, StandIn, django_on, provider_environment, scratch_database

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parcel_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def rows(count: int, channel: str) -> list[int]:
    """``count`` customers' rendered messages on ``channel``, pending."""
    from django.utils import timezone

    from customers.models import Customer
    from notifications.models import EventType, Notification
    from notifications.outbox import CustomerMessage, customers_message

    Customer.objects.bulk_create(
        Customer(external_id=f"S{index}", name="王芳", phone=f"+86138{index:08d}", email=f"c{index}@example.com")
        for index in range(count)
    )
    customers_message(
        event_type=EventType.COMPLAINT_REPLY,
        messages=[
            CustomerMessage(
                customer=customer,
                event_key=f"bench:{customer.pk}",
                context={
                    "complaint_reference": "TS261122AB3CDE",
                    "reply_text": "您好,您的包裹已安排今天派送,预计18:00前送达。",
                    "link": "http://127.0.0.1:8000/complaints/x/",
                },
            )
            for customer in Customer.objects.order_by("pk")
        ],
        channels=[channel],
    )
    Notification.objects.update(next_attempt_at=timezone.now())
    return list(Notification.objects.order_by("pk").values_list("pk", flat=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--channel", choices=["sms", "email"], default="sms")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--connect-delay", type=float, default=0.1)
    parser.add_argument("--message-delay", type=float, default=0.01)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--profile", action="store_true", help="print where our path's main thread spends its time")
    arguments = parser.parse_args()

    twilio = StandIn("twilio", latency=arguments.latency)
    smtp = StandIn("smtp", connect_delay=arguments.connect_delay, message_delay=arguments.message_delay)
    try:
        django_on(
            scratch_database(DATABASE_URL),
            REDIS_URL,
            DEBUG="false",
            QUIET_HOURS_START="0",
            QUIET_HOURS_END="0",
            SMS_RATE_PER_SECOND="100000",
            NOTIFICATION_MAX_IN_FLIGHT=str(arguments.in_flight),
            NOTIFICATION_EMAIL_CONNECTIONS=str(arguments.connections),
            **provider_environment(twilio, smtp.port),
        )
        from notifications.sending import notifications_send

        ids = rows(arguments.messages, arguments.channel)
        memory = [rss_mib()]
        quarter = max(1, len(ids) // 4)
        profiler = cProfile.Profile() if arguments.profile else None
        started = time.perf_counter()
        for start in range(0, len(ids), quarter):
            if profiler:
                profiler.enable()
            results = notifications_send(ids=ids[start : start + quarter])
            if profiler:
                profiler.disable()
            assert set(results.values()) == {"sent"}, set(results.values())
            memory.append(rss_mib())
        ours = time.perf_counter() - started
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        stand_in = twilio if arguments.channel == "sms" else smtp
        assert stand_in.stats()["unique"] == len(ids)
        stand_in.reset()

        count = {"sms": len(ids) if arguments.channel == "sms" else 0}
        count["email"] = len(ids) - count["sms"]
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.ceiling",
                "--twilio",
                twilio.base_url,
                "--smtp-port",
                str(smtp.port),
                "--sms",
                str(count["sms"]),
                "--email",
                str(count["email"]),
                "--in-flight",
                str(arguments.in_flight),
                "--connections",
                str(arguments.connections),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        ceiling = float(finished.stdout.split()[-1])  # its own time, without the interpreter's start
    finally:
        twilio.stop()
        smtp.stop()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    count_all = len(ids)
    print(
        f"{count_all:,} {arguments.channel}, one process, {arguments.in_flight} in flight; "
        f"Twilio stand-in {arguments.latency * 1000:.0f} ms, SMTP {arguments.connect_delay * 1000:.0f} ms a connection "
        f"+ {arguments.message_delay * 1000:.0f} ms a message, {arguments.connections} connections:\n"
        f"  notifications_send      {ours:6.2f} s  ({count_all / ours:,.0f} msg/s)\n"
        f"  ceiling (bare asyncio)  {ceiling:6.2f} s  ({count_all / ceiling:,.0f} msg/s)\n"
        f"  ratio ours/ceiling      {ceiling / ours:6.2f}  (1.00 = as fast as anything could send to these stand-ins)\n"
        f"  memory (RSS, MiB) at 0/25/50/75/100 %: {' / '.join(f'{value:.0f}' for value in memory)}"
    )


if __name__ == "__main__":
    main()
