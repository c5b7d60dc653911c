from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import roles
from core.models import ApiToken
from core.services import api_token_issue
from ops import demo
from ops.demo_incidents import seed_demo_alerts, seed_demo_complaints, seed_demo_incidents
from orders.models import Order
from orders.services import orders_ingest

DEMO_PASSWORD = "parcel-demo-2026"  # noqa: S105 - published demo password; the command refuses production
DEMO_USERS = [
    # username, role group (None: superuser), is_staff
    ("admin", None, True),
    ("agent", roles.CUSTOMER_SERVICE_AGENT, True),
    ("manager", roles.INCIDENT_MANAGER, True),
    ("supervisor", roles.SUPERVISOR, True),
    ("order-system", roles.INTEGRATION, False),
    ("monitoring", roles.MONITORING, False),
]
CLIENT_SYSTEMS = {"order-system": "order system", "monitoring": "monitoring"}
DEMO_CUSTOMERS = 120
DEMO_ORDERS = 400
# Rows per call of the ingest service, the same path the order system's API uses.
DEMO_INGEST_BATCH = 200


class Command(BaseCommand):
    help = "Create the demo data set (idempotent), or with --orders N a large data set through bulk paths."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, help="Scale mode: this many orders (and a third as many customers).")
        parser.add_argument("--prefix", default="JD", help="Scale mode: tracking-number prefix (default JD).")

    def handle(self, *args: Any, orders: int | None, prefix: str, **options: Any) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("seed_demo creates users with a published password; it refuses to run in production.")
        if orders is not None:
            self._seed_scale(orders=orders, prefix=prefix)
            return
        self._seed_users()
        self._seed_parcels()
        self._seed_incidents()

    def _seed_scale(self, *, orders: int, prefix: str) -> None:
        if orders < 1:
            raise CommandError("--orders must be at least 1.")
        if not prefix.isalnum() or not prefix.isupper() or len(prefix) > 4:
            raise CommandError("--prefix must be 1 to 4 capital letters or digits.")
        started = time.perf_counter()
        customers_created, orders_created = demo.seed_scale(orders=orders, prefix=prefix)
        elapsed = time.perf_counter() - started
        rate = orders_created / elapsed if elapsed else 0
        self.stdout.write(
            f"scale seed: {orders_created} orders and {customers_created} customers created in {elapsed:.1f} s "
            f"({rate:,.0f} orders/s); {orders - orders_created} orders were already there."
        )

    def _seed_users(self) -> None:
        user_model = get_user_model()
        for username, role, is_staff in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"is_staff": is_staff, "is_superuser": role is None}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            if role is not None:
                user.groups.add(Group.objects.get(name=role))
        self.stdout.write(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for username, role, _is_staff in DEMO_USERS:
            if username not in CLIENT_SYSTEMS:
                self.stdout.write(f"  {username:<11} {role or 'Superuser'}")
        for username, name in CLIENT_SYSTEMS.items():
            account = user_model.objects.get(username=username)
            token = ApiToken.objects.usable().filter(user=account).first() or api_token_issue(name=name, user=account)
            self.stdout.write(f"  API token of the {name}: {token.key}")

    def _seed_parcels(self) -> None:
        anchor = demo.anchor_time()
        existing = set(Order.objects.filter(tracking_number__startswith="SF").values_list("tracking_number", flat=True))
        wanted = [
            demo.demo_order(index, prefix="SF", customer_count=DEMO_CUSTOMERS, anchor=anchor)
            for index in range(DEMO_ORDERS)
        ]
        missing = [order for order in wanted if order.tracking_number not in existing]
        created = events = 0
        for start in range(0, len(missing), DEMO_INGEST_BATCH):
            rows = [self._ingest_row(order) for order in missing[start : start + DEMO_INGEST_BATCH]]
            result = orders_ingest(rows=rows)
            created += result.orders_created
            events += result.events_added
        self.stdout.write(
            f"Demo parcels: {created} orders and {events} tracking events created, {len(existing)} already there."
        )

    @staticmethod
    def _ingest_row(order: demo.DemoOrder) -> dict[str, Any]:
        index = int(order.customer_external_id[-8:])
        customer = demo.demo_customer(index, prefix="SF")
        return {
            "tracking_number": order.tracking_number,
            "customer": vars(customer),
            "origin_city": order.origin_city,
            "destination_city": order.destination_city,
            "hub": order.hub,
            "status": order.status,
            "promised_delivery": order.promised_delivery,
            "ordered_at": order.created_at,
            "events": demo.demo_tracking_events(order),
        }

    def _seed_incidents(self) -> None:
        created = seed_demo_incidents(
            manager=get_user_model().objects.get(username="manager"),
            supervisor=get_user_model().objects.get(username="supervisor"),
        )
        self.stdout.write(f"Demo incidents: {created} created." if created else "Demo incidents: already there.")

        alerts = seed_demo_alerts(monitoring=get_user_model().objects.get(username="monitoring"))
        self.stdout.write(f"Demo alert rules: {alerts} created." if alerts else "Demo alert rules: already there.")
        complaints = seed_demo_complaints()
        self.stdout.write(
            f"Demo complaints: {complaints} created." if complaints else "Demo complaints: already there."
        )
