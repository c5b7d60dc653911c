"""A scratch PostgreSQL database for benchmarks: dropped and re-created each run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parcel_bench")


def setup_django_on_scratch_database() -> None:
    """Point Django at a fresh, migrated scratch database."""
    import psycopg

    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = SERVER_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    name = SERVER_URL.rsplit("/", 1)[1]
    admin_url = SERVER_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def affected_customers(*, count: int, prefix: str, hub: str = "上海转运中心"):  # type: ignore[no-untyped-def]
    """``count`` customers with one parcel each at ``hub``, linked to a new incident
    without telling them; returns (incident, the supervisor who declared it)."""
    from django.utils import timezone

    from core import roles
    from customers.models import Customer
    from incidents.linking import LinkCriteria, incident_link_orders
    from orders.models import Order
    from tests.factories import UserFactory, declare_incident

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
    supervisor = UserFactory(role=roles.SUPERVISOR)
    incident = declare_incident(actor=supervisor)
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=[hub]), actor=supervisor, notify=False)
    return incident, supervisor
