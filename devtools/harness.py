"""What benchmarks and the fault suite share: a scratch database, the provider
stand-ins in their own processes, the settings that point at them, and the
worker's command line as ``deploy/`` writes it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from incidents.models import Incident

ROOT = Path(__file__).resolve().parent.parent
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "bench-token"  # noqa: S105 - the stand-in's, not a secret
TWILIO_FROM = "+15005550006"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def wait_until_answering(process: subprocess.Popen[bytes], url: str, name: str) -> None:
    """Return once ``url`` gives any HTTP answer; if ``process`` exits or 30 s pass, stop it and say why."""
    for _ in range(150):
        try:
            urllib.request.urlopen(url, timeout=5).read()  # noqa: S310 - our own local server
            return
        except urllib.error.HTTPError:
            return  # answering, if not with a 200
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.terminate()  # not kill: nginx's master would leave its workers behind
    process.wait(timeout=30)
    raise RuntimeError(f"{name} did not start: " + (process.stderr.read() if process.stderr else b"").decode()[-2000:])


def scratch_database(url: str) -> str:
    """Drop and re-create the database ``url`` names; returns ``url``."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url


def django_on(database_url: str, redis_url: str, **settings: str) -> None:
    """Set Django up in this process on ``database_url`` (migrated) and ``redis_url``."""
    sys.path.insert(0, str(ROOT))
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url, **settings)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class StandIn:
    """A provider stand-in (``devtools.stand_ins``) in a process of its own."""

    def __init__(self, kind: str, **options: float) -> None:
        self.kind = kind
        self.port, self.stats_port = free_port(), free_port()
        command = [
            sys.executable,
            "-m",
            "devtools.stand_ins",
            kind,
            "--port",
            str(self.port),
            "--stats-port",
            str(self.stats_port),
        ]
        for name, value in options.items():
            command += [f"--{name.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {kind} stand-in did not start")
        wait_for_port(self.stats_port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/", timeout=5) as response:
            figures: dict[str, float] = json.loads(response.read())
            return figures

    def reset(self) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.stats_port}/", method="POST")
        urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - loopback

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def provider_environment(twilio: StandIn | str, smtp_port: int) -> dict[str, str]:
    """The settings that point our transports at the stand-ins."""
    return {
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_BASE_URL": twilio.base_url if isinstance(twilio, StandIn) else twilio,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "false",
    }


def worker_command(*, concurrency: int, queue: str, loglevel: str = "INFO", module: str = "celery") -> list[str]:
    """``celery worker`` as deploy/systemd/parcel-worker@.service and Compose start it (prefork);
    ``module`` is a stand-in for ``celery`` that adjusts something first (the fault suite's backoff)."""
    return [
        sys.executable,
        "-m",
        module,
        "-A",
        "config",
        "worker",
        "--concurrency",
        str(concurrency),
        "--max-tasks-per-child",
        "1000",
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
        "--queues",
        queue,
    ]


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (``VmHWM``: its peak), in MiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return 0.0
    return 0.0


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except FileNotFoundError:
        return []


# --- the scratch database of a benchmark ---------------------------------------------------------

BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parcel_bench")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def scratch_django(database_url: str = BENCH_DATABASE_URL, redis_url: str = BENCH_REDIS_URL, **settings: str) -> None:
    """Django in this process on a fresh, migrated scratch database (dropped and re-created)."""
    django_on(scratch_database(database_url), redis_url, **settings)


def vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def staff_user(*, role: str, username: str, email: str = "") -> Any:
    """A member of staff in ``role`` (benchmarks use the services, never test factories)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username=username, email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return get_user_model().objects.get(pk=user.pk)  # without the permission cache of the bare object


def incident_for(actor: User, *, category: str = "logistics") -> Incident:
    """A public incident declared by ``actor``, telling no one."""
    from incidents.models import IncidentCategory
    from incidents.services import incident_declare

    return incident_declare(
        actor=actor,
        category=IncidentCategory.objects.get(code=category),
        title_zh="受台风影响,广州白云转运中心暂停作业",
        title_en="Typhoon: Guangzhou Baiyun hub closed",
        severity=2,
        notify_customers=False,
    )


def affected_customers(*, count: int, prefix: str, hub: str = "上海转运中心") -> tuple[Any, Any]:
    """``count`` customers with one parcel each at ``hub``, linked to a new incident
    without telling them; returns (incident, the supervisor who declared it)."""
    from django.utils import timezone

    from core import roles
    from customers.models import Customer
    from incidents.criteria import LinkCriteria
    from incidents.linking import incident_link_orders
    from orders.models import Order

    Customer.objects.bulk_create(
        Customer(external_id=f"{prefix}{index}", name="王芳", phone=f"+86138{index:08d}", email="")
        for index in range(count)
    )
    Order.objects.bulk_create(
        Order(
            tracking_number=f"{prefix}{index:013d}",
            customer=customer,
            origin_city="上海",
            destination_city="北京",
            hub=hub,
            promised_delivery=timezone.now(),
        )
        for index, customer in enumerate(Customer.objects.filter(external_id__startswith=prefix).order_by("id"))
    )
    supervisor = staff_user(role=roles.SUPERVISOR, username=f"{prefix.lower()}-supervisor")
    incident = incident_for(supervisor)
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=[hub]), actor=supervisor, notify=False)
    return incident, supervisor
