"""What the portal may show a customer who proved who they are, and the public."""

from __future__ import annotations

import functools
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections

from compensation.models import Coupon
from compensation.selectors import coupons_for_customer_view
from core.bilingual import Bilingual
from core.database import prepared_rows
from customers.models import Customer
from incidents.models import OPEN_STATUSES, AffectedOrder, Incident
from notifications.models import Notification, Status
from orders.models import Order, ParcelStatus

if TYPE_CHECKING:
    from compensation.models import Coupon


@dataclass
class ParcelDelay(Bilingual):
    """An incident that delays the parcel, as the lookup shows it."""

    incident_id: int
    incident_status: str
    title_zh: str
    title_en: str
    original_promise: datetime
    new_estimate: datetime | None
    messages_sent: int

    @property
    def is_open(self) -> bool:
        return self.incident_status in OPEN_STATUSES


@dataclass
class ParcelView:
    order: Order
    masked_name: str
    links: list[ParcelDelay] = field(default_factory=list)
    coupons: list[Coupon] = field(default_factory=list)
    messages_sent: int = 0

    @property
    def status_label(self) -> str:
        # Not get_status_display(): that rebuilds and hashes every choice's label on each call.
        return str(ParcelStatus(self.order.status).label)


def _mask(name: str) -> str:
    # 王芳 → 王*; enough for the customer to recognise, nothing for anyone else.
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def order_for_proof(*, tracking_number: str, phone_last4: str) -> Order | None:
    """The order when the digits match its customer's phone; ``None`` otherwise.

    One query whether the number is unknown or the digits are wrong, and the
    digits compared in constant time, so neither the answer nor its timing tells
    anyone which tracking numbers exist. Complaint filing uses it; the lookup
    reads more in its one query, the same way.
    """
    order = Order.objects.select_related("customer").filter(tracking_number=tracking_number).first()
    phone = order.customer.phone if order is not None else "0000"
    if not hmac.compare_digest(phone[-4:].encode(), phone_last4.encode()) or order is None:
        return None
    return order


def parcel_for_customer(*, tracking_number: str, phone_last4: str) -> ParcelView | None:
    """What the lookup shows once the phone digits prove the parcel is theirs.

    On PostgreSQL one query, the parcel's incidents included (as JSON), and one more for its
    coupons when it has any; on the embedded SQLite one more for the incidents too. Same
    answer and same query for an unknown number and for wrong digits, as in
    ``order_for_proof``. The written-out queries are prepared statements on the connection
    (``prepared_rows``): planning them cost eight times running them.
    """
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    rows = prepared_rows(_lookup_sql(vendor), [tracking_number])
    *order_values, customer_name, phone, delays, has_coupons = rows[0] if rows else _NOT_FOUND
    if not hmac.compare_digest(phone[-4:].encode(), phone_last4.encode()) or not rows:
        return None
    order = Order.from_db(DEFAULT_DB_ALIAS, _LOOKUP_ORDER_FIELDS, order_values)
    parcel = ParcelView(order=order, masked_name=_mask(customer_name))
    if delays and vendor == "postgresql":
        parcel.links = [_delay_from_json(*values) for values in json.loads(delays)]
    elif delays:
        rows = prepared_rows(_delays_sql(), [order.customer_id, order.pk])
        parcel.links = [ParcelDelay(*values) for values in rows]
    parcel.messages_sent = sum(link.messages_sent for link in parcel.links)
    if has_coupons:
        parcel.coupons = list(coupons_for_customer_view(customer_id=order.customer_id, order_id=order.pk))
    return parcel


def _delay_from_json(
    incident_id: int, status: str, title_zh: str, title_en: str, promised: str, estimate: str | None, sent: int
) -> ParcelDelay:
    # PostgreSQL writes a timestamptz in JSON as ISO 8601 with its offset.
    return ParcelDelay(
        incident_id,
        status,
        title_zh,
        title_en,
        datetime.fromisoformat(promised),
        datetime.fromisoformat(estimate) if estimate else None,
        sent,
    )


# The order's columns _lookup_sql reads first, in the model's order (Order.from_db fills the
# fields it is given in that order and defers the rest).
_LOOKUP_ORDER_FIELDS = [
    field.attname
    for field in Order._meta.concrete_fields
    if field.attname
    in {
        "id",
        "tracking_number",
        "customer_id",
        "origin_city",
        "destination_city",
        "status",
        "promised_delivery",
        "current_estimate",
    }
]
# A row for a number no parcel has: its digits compared all the same (with "0000"), in as long.
_NOT_FOUND: tuple[Any, ...] = (*[None] * len(_LOOKUP_ORDER_FIELDS), "", "0000", None, False)


def _delay_columns(*, customer: str) -> str:
    """``ParcelDelay``'s fields, the last the messages the customer (``customer``: the SQL for
    their id, a column of the outer query or a parameter) was sent about the incident."""
    return f"""
        a.incident_id, i.status, i.title_zh, i.title_en, a.original_promise, a.new_estimate,
        (
            SELECT count(*) FROM {Notification._meta.db_table} n
            WHERE n.customer_id = {customer} AND n.incident_id = a.incident_id
              AND n.status IN ('{Status.SENT.value}', '{Status.DELIVERED.value}')
        )
    """  # noqa: S608 - the table name and status constants from the models


def _published_incidents(*, order: str) -> str:
    """Where a parcel's (``order``: the SQL for its id) public incidents come from."""
    return f"""
        FROM {AffectedOrder._meta.db_table} a JOIN {Incident._meta.db_table} i ON i.id = a.incident_id
        WHERE a.order_id = {order} AND i.published_at IS NOT NULL  -- internal incidents stay internal
    """


@functools.cache
def _lookup_sql(vendor: str) -> str:
    """The parcel, its customer's name and phone, its public incidents (on PostgreSQL; elsewhere
    whether it has any), and whether coupons touch it.

    Written out because the lookup is what a crowd of worried customers runs in an
    outage, and compiling the same query through the ORM (the subqueries and a join) cost
    several times what running it does. In a large outage most of that crowd has a delayed
    parcel: reading its incidents in the same round trip spares each of them a second query.
    """
    incidents = _published_incidents(order="o.id")
    if vendor == "postgresql":  # as JSON arrays, newest incident first
        columns = _delay_columns(customer="o.customer_id")
        delays = f"(SELECT json_agg(json_build_array({columns}) ORDER BY i.reported_at DESC)::text {incidents})"
    else:
        delays = f"EXISTS (SELECT 1 {incidents})"
    return f"""
        SELECT {", ".join(f"o.{name}" for name in _LOOKUP_ORDER_FIELDS)},
               c.name AS customer_name, c.phone AS customer_phone,
               {delays} AS delays,
               EXISTS (
                   SELECT 1 FROM {Coupon._meta.db_table} k WHERE k.order_id = o.id AND k.customer_id = o.customer_id
               ) AS has_coupons
        FROM {Order._meta.db_table} o JOIN {Customer._meta.db_table} c ON c.id = o.customer_id
        WHERE o.tracking_number = %s
    """  # noqa: S608 - table names from the models; the only value is a parameter


@functools.cache
def _delays_sql() -> str:
    """The parcel's incidents, newest first, each with the messages the customer was sent about it
    (the embedded SQLite's second query; PostgreSQL reads them with the parcel).

    Written out for the same reason as ``_lookup_sql``: the ORM's compile of the join and the
    counting subquery cost five times the query, on the page a delayed parcel's owner reloads.
    """
    return f"""
        SELECT {_delay_columns(customer="%s")} {_published_incidents(order="%s")}
        ORDER BY i.reported_at DESC
    """
