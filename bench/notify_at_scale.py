"""A typhoon's worth of customers told: our whole path beside the ceiling, in one run.

    .venv/bin/python -m bench.notify_at_scale                      # 100,000 customers, 200,000 messages
    .venv/bin/python -m bench.notify_at_scale --customers 10000    # a quicker look

Given N customers (a mobile number and an email each) with a parcel at one hub, an
incident, and the providers' stand-ins in their own processes — Twilio answering
after ``--latency`` (200 ms, as the real API does from far away), an SMTP server
that costs ``--connect-delay`` per new connection (100 ms: TCP, STARTTLS, AUTH)
and ``--message-delay`` per message (10 ms) — and a worker started as deploy/
starts it (prefork, ``--concurrency``):

* ours: from the link request (``link_job_start``, what the API and the admin call)
  to the last of the 2N messages accepted by the stand-ins: the link job, the
  fan-out, the dispatch, the sending and its bookkeeping;
* ceiling: a bare asyncio client (``bench.ceiling``) pushing the same 2N requests
  with the same in-flight limit and SMTP connections per process, in as many
  processes, to the same stand-ins: what any sender could do on this machine.

Prints both times, messages per second, the ratio, duplicates and failures, the
worker processes' peak memory, and the memory every 10 % of the way (it should be flat).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import uuid

from devtools.harness import (
    ROOT,
    StandIn,
    children_of,
    django_on,
    provider_environment,
    rss_mib,
    scratch_database,
    worker_command,
)

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parcel_bench_notify")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
HUB = "广州白云转运中心"


def seed(customers: int) -> int:
    """N customers with one parcel each at the hub (COPY), and an incident; returns the incident's id."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from core import roles
    from core.bulk import tables_analyze
    from customers.models import Customer
    from incidents.models import IncidentCategory
    from incidents.services import incident_declare
    from orders.models import Order

    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY customers_customer (external_id, name, phone, email, language, sms_consent, email_consent, "
            "created_at, updated_at) FROM STDIN"
        ) as copy:
            for index in range(customers):
                copy.write_row(
                    (
                        f"N{index}",
                        "王芳",
                        f"+86138{index:08d}",
                        f"c{index}@example.com",
                        "zh-hans",
                        True,
                        True,
                        now,
                        now,
                    )
                )
        cursor.execute(
            "INSERT INTO orders_order (tracking_number, customer_id, origin_city, destination_city, hub, status, "
            "promised_delivery, created_at, updated_at) "
            "SELECT 'SF' || lpad(id::text, 13, '0'), id, '上海', '广州', %s, 'in_transit', %s, %s, %s "
            "FROM customers_customer",
            [HUB, now, now, now],
        )
    # A carrier's customers and parcels have been in the database long enough to be analysed.
    tables_analyze(Customer, Order)
    supervisor = get_user_model().objects.create_user(username="bench-supervisor", password=uuid.uuid4().hex)
    supervisor.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    supervisor = get_user_model().objects.get(pk=supervisor.pk)  # permissions cache
    incident = incident_declare(
        actor=supervisor,
        category=IncidentCategory.objects.get(code="logistics"),
        title_zh="受台风影响,广州白云转运中心暂停作业",
        title_en="Typhoon: Guangzhou Baiyun hub closed",
        severity=2,
        notify_customers=False,
    )
    return incident.pk


def link(incident_id: int) -> None:
    from django.contrib.auth import get_user_model

    from incidents.criteria import LinkCriteria
    from incidents.linking import link_job_start
    from incidents.models import Incident

    link_job_start(
        incident=Incident.objects.get(pk=incident_id),
        criteria=LinkCriteria(hubs=[HUB]),
        actor=get_user_model().objects.get(username="bench-supervisor"),
    )


def run_ours(arguments: argparse.Namespace, twilio: StandIn, smtp: StandIn) -> dict[str, object]:
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        **provider_environment(twilio, smtp.port),
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",  # as in production: no query log kept in memory
        "LOG_LEVEL": "WARNING",
        "QUIET_HOURS_START": "0",
        "QUIET_HOURS_END": "0",
        "SMS_RATE_PER_SECOND": str(arguments.sms_rate),
        "NOTIFICATION_MAX_IN_FLIGHT": str(arguments.in_flight),
        "NOTIFICATION_EMAIL_CONNECTIONS": str(arguments.connections),
    }
    log = open(ROOT / "var" / "bench-notify-worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        worker_command(concurrency=arguments.concurrency, queue=queue, loglevel="WARNING"),
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    from config.celery import app

    app.conf.task_default_queue = queue
    time.sleep(6)  # the worker's processes start and connect
    total = 2 * arguments.customers
    memory: list[float] = []
    started = time.time()
    link(arguments.incident_id)
    deadline = time.monotonic() + arguments.timeout
    accepted = 0
    while time.monotonic() < deadline:
        time.sleep(1)
        sms, email = twilio.stats(), smtp.stats()
        accepted = int(sms["accepted"] + email["accepted"])
        if os.environ.get("BENCH_TRACE"):
            print(
                f"  t+{time.time() - started:5.1f}s sms {int(sms['accepted']):6d} email {int(email['accepted']):6d}",
                flush=True,
            )
        if len(memory) < 10 and accepted >= (len(memory) + 1) * total / 10:
            memory.append(sum(rss_mib(child) for child in children_of(worker.pid)) / max(1, arguments.concurrency))
        if sms["unique"] >= arguments.customers and email["unique"] >= arguments.customers:
            break
    peak = [rss_mib(child, "VmHWM") for child in children_of(worker.pid)]
    cpu = sum(cpu_seconds(child) for child in children_of(worker.pid))
    worker.terminate()
    worker.wait(timeout=60)
    log.close()
    sms, email = twilio.stats(), smtp.stats()
    finished = max(sms["last_accepted_at"], email["last_accepted_at"])
    first = (
        min(value for value in (sms["first_accepted_at"], email["first_accepted_at"]) if value)
        if accepted
        else finished
    )
    from notifications.models import Notification

    statuses = dict(Notification.objects.values_list("status").annotate(count=models_count()).order_by())
    return {
        "seconds": finished - started,
        "before_first": first - started,
        "accepted": int(sms["accepted"] + email["accepted"]),
        "duplicates": int(sms["accepted"] - sms["unique"] + email["accepted"] - email["unique"]),
        "smtp_connections": int(email["connections"]),
        "statuses": statuses,
        "peak_rss": peak,
        "cpu": cpu,
        "memory": memory,
        "complete": accepted >= total,
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def models_count():  # type: ignore[no-untyped-def]
    from django.db.models import Count

    return Count("id")


def run_ceiling(arguments: argparse.Namespace, twilio: StandIn, smtp: StandIn) -> tuple[float, float]:
    share = arguments.customers // arguments.concurrency
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.ceiling",
                "--twilio",
                twilio.base_url,
                "--smtp-port",
                str(smtp.port),
                "--sms",
                str(share if index < arguments.concurrency - 1 else arguments.customers - share * index),
                "--email",
                str(share if index < arguments.concurrency - 1 else arguments.customers - share * index),
                "--first",
                str(share * index),
                "--in-flight",
                str(arguments.in_flight),
                "--connections",
                str(arguments.connections),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        for index in range(arguments.concurrency)
    ]
    for client in clients:
        if client.wait() != 0:
            raise RuntimeError("the ceiling client failed")
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    sms, email = twilio.stats(), smtp.stats()
    assert sms["unique"] == email["unique"] == arguments.customers, (sms, email)
    return max(sms["last_accepted_at"], email["last_accepted_at"]) - started, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.2, help="Twilio stand-in's answer time, seconds")
    parser.add_argument("--connect-delay", type=float, default=0.1, help="SMTP cost per new connection, seconds")
    parser.add_argument("--message-delay", type=float, default=0.01, help="SMTP cost per message, seconds")
    parser.add_argument(
        "--concurrency", type=int, default=2, help="worker processes (deploy: CELERY_WORKER_CONCURRENCY)"
    )
    parser.add_argument("--in-flight", type=int, default=64, help="NOTIFICATION_MAX_IN_FLIGHT")
    parser.add_argument("--connections", type=int, default=4, help="NOTIFICATION_EMAIL_CONNECTIONS")
    parser.add_argument("--sms-rate", type=int, default=5000, help="SMS_RATE_PER_SECOND (the shared token bucket)")
    parser.add_argument("--timeout", type=float, default=1800)
    arguments = parser.parse_args()

    (ROOT / "var").mkdir(exist_ok=True)
    django_on(scratch_database(DATABASE_URL), REDIS_URL)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    started = time.monotonic()
    arguments.incident_id = seed(arguments.customers)
    print(f"seeded {arguments.customers:,} customers and parcels in {time.monotonic() - started:.1f} s", flush=True)
    twilio = StandIn("twilio", latency=arguments.latency)
    smtp = StandIn("smtp", connect_delay=arguments.connect_delay, message_delay=arguments.message_delay)
    try:
        ours = run_ours(arguments, twilio, smtp)
        twilio.reset()
        smtp.reset()
        ceiling, ceiling_cpu = run_ceiling(arguments, twilio, smtp)
    finally:
        twilio.stop()
        smtp.stop()
    total = 2 * arguments.customers
    seconds = float(ours["seconds"])  # type: ignore[arg-type]
    print(
        f"{arguments.customers:,} customers, {total:,} messages; Twilio stand-in {arguments.latency * 1000:.0f} ms, "
        f"SMTP {arguments.connect_delay * 1000:.0f} ms a connection + {arguments.message_delay * 1000:.0f} ms a message; "
        f"{arguments.concurrency} worker processes × {arguments.in_flight} in flight, "
        f"{arguments.connections} SMTP connections each\n"
        f"  ours (link request → last message accepted)  {seconds:7.1f} s  {total / seconds:7.0f} msg/s"
        f"  ({arguments.customers / seconds * 60:,.0f} customers a minute)\n"
        f"  ceiling (bare asyncio client)                  {ceiling:7.1f} s  {total / ceiling:7.0f} msg/s\n"
        f"    of which before the first message (link job, fan-out, dispatch) {ours['before_first']:.1f} s; "
        f"sending {seconds - float(ours['before_first']):.1f} s ({total / (seconds - float(ours['before_first'])):.0f} msg/s)\n"  # type: ignore[arg-type]
        f"  ratio ours/ceiling                             {ceiling / seconds:7.2f}   (goal ≥ 0.80; ≥ 500 msg/s)\n"
        f"  complete {ours['complete']}, accepted {ours['accepted']:,}, duplicates {ours['duplicates']}, "
        f"outbox {ours['statuses']}, SMTP connections opened {ours['smtp_connections']}\n"
        f"  CPU per message: worker processes {float(ours['cpu']) / total * 1000:.2f} ms (PostgreSQL's not counted), "  # type: ignore[arg-type]
        f"ceiling clients {ceiling_cpu / total * 1000:.2f} ms\n"
        f"  worker processes' peak RSS (MiB): {', '.join(f'{value:.0f}' for value in ours['peak_rss'])}; "  # type: ignore[attr-defined]
        f"average RSS every 10 %: {' / '.join(f'{value:.0f}' for value in ours['memory'])}"  # type: ignore[attr-defined]
    )


if __name__ == "__main__":
    main()
