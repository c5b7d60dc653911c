"""Fault: SIGKILL the Celery worker in the middle of a 5,000-message fan-out.

    .venv/bin/python bench/faults/kill_worker.py --messages 5000

A real worker (prefork, concurrency 2) sends SMS to the local Twilio stand-in.
When about a third are sent, the worker and its children are killed with
SIGKILL, a new worker is started, and the outbox sweeper runs as beat would
(every few seconds here, with a 30-second lease). Prints messages lost (must be
0), duplicates (at most what the killed worker had in flight), rows marked
"uncertain", and the time from the kill to the last message sent.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ["NOTIFICATION_LEASE_SECONDS"] = "30"
QUEUE = f"fault-{uuid.uuid4().hex[:6]}"
os.environ["CELERY_TASK_DEFAULT_QUEUE"] = QUEUE
from _scratch import SERVER_URL, affected_customers, setup_django_on_scratch_database  # noqa: E402


def start_worker(environment: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--queues",
            QUEUE,
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kill-at", type=float, default=0.33, help="share sent when the worker is killed")
    arguments = parser.parse_args()

    from devtools.fake_twilio import FakeTwilio

    twilio = FakeTwilio(latency=0.005).start()
    provider = {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "fault-token",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": twilio.base_url,
        "SMS_RATE_PER_SECOND": "1000",
        "QUIET_HOURS_START": "0",
        "QUIET_HOURS_END": "0",
    }
    os.environ.update(provider)
    setup_django_on_scratch_database()
    import redis

    from incidents.services import incident_post_update
    from notifications.models import Notification
    from notifications.services import notifications_dispatch, notifications_sweep

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    count = arguments.messages
    incident, manager = affected_customers(count=count, prefix="FT")
    update = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="故障演练", sms=True, email=False)
    rows = Notification.objects.filter(incident_update=update)
    assert rows.count() == count
    notifications_dispatch(pending=rows)

    environment = {**os.environ, "DATABASE_URL": SERVER_URL, "DJANGO_SETTINGS_MODULE": "config.settings", **provider}
    worker = start_worker(environment)
    while rows.filter(status="sent").count() < count * arguments.kill_at:
        time.sleep(0.1)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    killed_at = time.monotonic()
    sent_at_kill = rows.filter(status="sent").count()
    in_flight = rows.filter(status="sending").count()
    print(f"killed the worker with {sent_at_kill} sent and {in_flight} claimed in flight", flush=True)

    worker = start_worker(environment)
    try:
        deadline = time.monotonic() + 300
        while rows.filter(status="sent").count() < count and time.monotonic() < deadline:
            notifications_sweep()
            time.sleep(3)
        recovered = time.monotonic() - killed_at
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        twilio.stop()
    sent = rows.filter(status="sent").count()
    recipients = [message["To"] for message in twilio.messages]
    duplicates = len(recipients) - len(set(recipients))
    print(
        f"\nSIGKILL of the worker during a {count:,}-message fan-out:\n"
        f"  messages lost            {count - len(set(recipients))}  (rows not sent: {count - sent})\n"
        f"  duplicates               {duplicates}  (in flight at the kill: {in_flight})\n"
        f"  rows marked uncertain    {rows.filter(uncertain=True).count()}\n"
        f"  time to recover          {recovered:.0f} s  (lease 30 s, sweeper every 3 s)"
    )
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


if __name__ == "__main__":
    main()
