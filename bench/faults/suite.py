"""The fault suite: lose a worker, the broker or the database in the middle of a fan-out.

    .venv/bin/python bench/faults/suite.py                      # all four, 20,000 SMS each
    .venv/bin/python bench/faults/suite.py --messages 2000 --scenarios kill-worker

Self-contained and safe to run anywhere: its own PostgreSQL cluster (initdb into a
temporary directory, its own port; as root it runs as the ``postgres`` user), its
own Redis (append-only file, as in production), the Twilio stand-in in-process,
gunicorn with deploy/gunicorn.conf.py, a prefork Celery worker and beat. The shared
PostgreSQL and Redis are never touched.

For each scenario one incident update goes to N customers by SMS. Steady portal
traffic (``/``, ``/track/``, ``/healthz``, 10 requests a second) runs throughout.
When about a third is sent, the fault:

- ``kill-worker``      SIGKILL the worker and its children; a new one starts 2 s later
                       (systemd's RestartSec)
- ``restart-redis``    SIGKILL Redis, start it again after the outage (AOF reload)
- ``restart-postgres`` crash PostgreSQL (immediate stop), start it after the outage
- ``sms-failures``     the provider answers 30 % of requests 429 or 500, from the start

Beside beat's own schedule, the suite runs the outbox sweeper every 5 s (beat: every minute), the
lease is 30 s (300 s in production), and retry backoff is 1–8 s (30 s–1 h in
production) — time compressed, same code path. Reported per scenario: messages
lost (never sent and not recorded as failed: must be 0), duplicates (messages the
provider received twice), rows given up as failed, portal error rate (5xx or no
answer, for / and /track/; /healthz is meant to say 503 while something is down),
and the times to recover.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "faults"))

from _stack import (  # noqa: E402
    PrivatePostgres,
    PrivateRedis,
    free_port,
    kill_group,
    scratch_directory,
    start_beat,
    start_web,
    start_worker,
)

SCENARIOS = ("kill-worker", "restart-redis", "restart-postgres", "sms-failures")
SWEEP_EVERY_SECONDS = 5
WORKER_PROCESSES = 2  # _stack.start_worker's --concurrency
IN_FLIGHT = {"limit": 64}
PORTAL_PATHS = ("/", "/track/", "/healthz")


@dataclass
class Traffic:
    """Steady portal traffic; every answer recorded with its time."""

    port: int
    rate: float
    samples: list[tuple[float, str, int]] = field(default_factory=list)  # (time, path, status; 0 = no answer)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            path = PORTAL_PATHS[index % len(PORTAL_PATHS)]
            index += 1
            started = time.monotonic()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", path, headers={"Host": "127.0.0.1"})
                status = connection.getresponse().status
                connection.close()
            except OSError:
                status = 0
            self.samples.append((started, path, status))
            self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - started)))


@dataclass
class Result:
    name: str
    messages: int
    lost: int
    duplicates: int
    failed: int
    uncertain: int
    portal_requests: int
    portal_errors: int
    healthz_not_ok: int
    outage_seconds: float
    portal_recovered_after: float | None
    sending_resumed_after: float | None
    all_done_after: float


def _safe(function: Callable[[], int], default: int = -1) -> int:
    from django.db import connection

    try:
        return function()
    except Exception:  # noqa: BLE001 - the database may be down: that is the point
        connection.close()
        return default


def run_scenario(name: str, *, stack: dict, count: int, outage: float, rate: float) -> Result:
    from incidents.services import incident_post_update
    from notifications.models import Notification, Status
    from notifications.services import notifications_dispatch, notifications_sweep

    twilio = stack["twilio"]
    latency = twilio.latency
    twilio.reset()
    twilio.latency = latency
    twilio.failure_rate = 0.3 if name == "sms-failures" else 0.0
    update = incident_post_update(
        incident_id=stack["incident"].pk, actor=stack["actor"], body_zh=f"故障演练:{name}", sms=True, email=False
    )
    rows = Notification.objects.filter(incident_update=update)
    assert rows.count() == count, rows.count()
    traffic = Traffic(port=stack["web_port"], rate=rate).start()
    started = time.monotonic()
    notifications_dispatch(pending=rows)

    def sent() -> int:
        return rows.filter(status=Status.SENT).count()

    while name != "sms-failures" and _safe(sent, 0) < count / 3:
        time.sleep(0.2)
    fault_at = time.monotonic()
    print(f"  {name}: fault at {_safe(sent, 0):,} sent", flush=True)
    if name == "kill-worker":
        kill_group(stack["worker"])
        time.sleep(2)  # systemd: Restart=always, RestartSec=2
        stack["worker"] = start_worker(stack["environment"], stack["queue"], stack["scratch"] / "worker.log")
    elif name == "restart-redis":
        stack["redis"].crash()
        time.sleep(outage)
        stack["redis"].start()
    elif name == "restart-postgres":
        stack["postgres"].crash()
        time.sleep(outage)
        stack["postgres"].start()
    fault_over = time.monotonic()
    sent_at_fault_end = _safe(sent, 0)

    resumed_at = None
    next_sweep = time.monotonic()
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if time.monotonic() >= next_sweep:
            _safe(lambda: sum(notifications_sweep().values()), 0)
            next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS
        done = _safe(lambda: rows.filter(status__in=[Status.SENT, Status.FAILED]).count(), 0)
        if resumed_at is None and _safe(sent, 0) > sent_at_fault_end:
            resumed_at = time.monotonic()
        if done >= count:
            break
        time.sleep(0.5)
    finished = time.monotonic()
    time.sleep(1)  # a last second of traffic after recovery
    traffic.stop()

    delivered = [message["To"] for message in twilio.messages]
    unique = set(delivered)
    failed = rows.filter(status=Status.FAILED).count()
    portal = [(at, status) for at, path, status in traffic.samples if path != "/healthz"]
    errors = [(at, status) for at, status in portal if status == 0 or status >= 500]
    last_error = max((at for at, _ in errors), default=None)
    recovered = None
    if last_error is not None:
        after = [at for at, status in portal if at > last_error and 0 < status < 500]
        recovered = (min(after) - fault_at) if after else None
    return Result(
        name=name,
        messages=count,
        lost=count - len(unique) - failed,
        duplicates=len(delivered) - len(unique),
        failed=failed,
        uncertain=rows.filter(uncertain=True).count(),
        portal_requests=len(portal),
        portal_errors=len(errors),
        healthz_not_ok=sum(1 for _, path, status in traffic.samples if path == "/healthz" and status != 200),
        outage_seconds=fault_over - fault_at,
        portal_recovered_after=recovered,
        sending_resumed_after=None if resumed_at is None else resumed_at - fault_at,
        all_done_after=finished - (fault_at if name != "sms-failures" else started),
    )


def _print(results: list[Result], total_seconds: float) -> None:
    def seconds(value: float | None) -> str:
        return "—" if value is None else f"{value:.0f} s"

    print(
        f"\n{'scenario':<18}{'lost':>6}{'dup':>6}{'failed':>8}{'uncertain':>11}{'portal errors':>22}"
        f"{'healthz≠200':>13}{'outage':>8}{'portal ok':>11}{'sending':>9}{'all sent':>10}"
    )
    for result in results:
        rate = result.portal_errors / max(1, result.portal_requests)
        print(
            f"{result.name:<18}{result.lost:>6}{result.duplicates:>6}{result.failed:>8}{result.uncertain:>11}"
            f"{f'{result.portal_errors}/{result.portal_requests} ({rate:.1%})':>22}{result.healthz_not_ok:>13}"
            f"{seconds(result.outage_seconds):>8}{seconds(result.portal_recovered_after):>11}"
            f"{seconds(result.sending_resumed_after):>9}{seconds(result.all_done_after):>10}"
        )
    print(
        f"\n{results[0].messages:,} SMS per scenario, {WORKER_PROCESSES} worker processes × {IN_FLIGHT['limit']} in flight: "
        f"duplicates are bounded by {WORKER_PROCESSES * IN_FLIGHT['limit']} (every process's window lost at once). "
        f"Times from the fault (sms-failures: from the start). "
        f"'portal ok': first good answer after the last error; 'sending': first message sent after the fault.\n"
        f"Whole suite: {total_seconds / 60:.1f} min on {os.cpu_count()} cores."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds Redis or PostgreSQL stays down")
    parser.add_argument("--rate", type=float, default=10.0, help="portal requests per second")
    parser.add_argument("--latency", type=float, default=0.2, help="the Twilio stand-in's answer time, seconds")
    parser.add_argument("--in-flight", type=int, default=64, help="NOTIFICATION_MAX_IN_FLIGHT per worker process")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, data)")
    arguments = parser.parse_args()
    chosen = [name.strip() for name in arguments.scenarios.split(",") if name.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    IN_FLIGHT["limit"] = arguments.in_flight
    suite_started = time.monotonic()
    scratch = scratch_directory()
    postgres, redis_server = PrivatePostgres(scratch), PrivateRedis(scratch)
    processes = {}
    from devtools.fake_twilio import FakeTwilio

    twilio = FakeTwilio(latency=arguments.latency).start()
    try:
        postgres.create()
        redis_server.start()
        queue = f"fault-{uuid.uuid4().hex[:6]}"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": "development",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis_server.url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "NOTIFICATION_LEASE_SECONDS": "30",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "fault-token",
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": twilio.base_url,
            "SMS_RATE_PER_SECOND": "5000",
            "NOTIFICATION_MAX_IN_FLIGHT": str(arguments.in_flight),
            "QUIET_HOURS_START": "0",
            "QUIET_HOURS_END": "0",
            "VAR_DIR": str(scratch / "var"),
        }
        os.environ.update(environment)
        import django

        django.setup()
        from _scratch import affected_customers
        from django.core.management import call_command

        print(f"Private PostgreSQL :{postgres.port}, Redis :{redis_server.port}, scratch {scratch}", flush=True)
        call_command("migrate", verbosity=0)
        incident, actor = affected_customers(count=arguments.messages, prefix="FS")
        web_port = free_port()
        processes["web"] = start_web(environment, web_port, scratch / "web.log")
        processes["worker"] = start_worker(environment, queue, scratch / "worker.log")
        processes["beat"] = start_beat(environment, scratch, scratch / "beat.log")
        stack = {
            "twilio": twilio,
            "incident": incident,
            "actor": actor,
            "web_port": web_port,
            "environment": environment,
            "queue": queue,
            "scratch": scratch,
            "postgres": postgres,
            "redis": redis_server,
            "worker": processes["worker"],
        }
        results = []
        for name in chosen:
            results.append(
                run_scenario(name, stack=stack, count=arguments.messages, outage=arguments.outage, rate=arguments.rate)
            )
            processes["worker"] = stack["worker"]
        _print(results, time.monotonic() - suite_started)
    finally:
        for process in processes.values():
            kill_group(process)
        twilio.stop()
        redis_server.destroy()
        postgres.destroy()
        if arguments.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
