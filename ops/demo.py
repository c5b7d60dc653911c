"""Demo and scale data: realistic Chinese parcels that can never reach a real person.

Phone numbers are North American 555-0100 to 555-0199 numbers, which NANPA keeps
for fiction in every area code: they connect to nobody (no such range exists in
China), and libphonenumber accepts them, so a demo customer passes the product's
own validation. Ofcom's mobile drama range (+44 7700 900xxx) does not.
Everything is derived from the row index, so running a seed twice produces the
same rows and the second run finds nothing missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import TypeVar

from django.db import connection, transaction

from core.bulk import tables_analyze
from customers.models import Customer
from orders.models import Order, ParcelStatus

HUBS = [
    ("上海转运中心", "上海"),
    ("北京顺义转运中心", "北京"),
    ("广州白云转运中心", "广州"),
    ("深圳宝安转运中心", "深圳"),
    ("杭州萧山转运中心", "杭州"),
    ("成都双流转运中心", "成都"),
    ("武汉转运中心", "武汉"),
    ("西安转运中心", "西安"),
]
CITIES = [
    "上海",
    "北京",
    "广州",
    "深圳",
    "杭州",
    "成都",
    "武汉",
    "西安",
    "南京",
    "苏州",
    "重庆",
    "天津",
    "厦门",
    "青岛",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN_NAMES = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "婷",
    "建华",
    "晓东",
    "海燕",
    "子轩",
]
OPEN_STATUSES = [ParcelStatus.PICKED_UP, ParcelStatus.IN_TRANSIT, ParcelStatus.AT_HUB, ParcelStatus.OUT_FOR_DELIVERY]
# Ten area codes × 555-0100..0199: a thousand fictional numbers.
FICTIONAL_AREA_CODES = ("202", "212", "213", "305", "312", "415", "503", "617", "702", "206")
TRACKING_NUMBER_BASE = 1_234_560_000_000
# Rows per COPY or bulk_create batch: ~100 MB of Python objects at the widest, so
# a million-order seed runs in flat memory.
SCALE_BATCH_SIZE = 50_000
T = TypeVar("T")
_MASK64 = (1 << 64) - 1
_CUSTOMER_SALT = 0xC0FFEE
_ORDER_SALT = 0x5EED


@dataclass(frozen=True)
class DemoCustomer:
    external_id: str
    name: str
    phone: str
    email: str
    language: str


@dataclass(frozen=True)
class DemoOrder:
    tracking_number: str
    customer_external_id: str
    origin_city: str
    destination_city: str
    hub: str
    status: str
    created_at: datetime
    promised_delivery: datetime


def _mix(index: int, salt: int) -> int:
    """splitmix64 of (index, salt): a cheap, stable pseudo-random 64-bit value per row.

    ``random.Random(seed)`` per row cost more than the database load itself at a
    million rows; this is a few integer operations.
    """
    value = (index * 0x9E3779B97F4A7C15 + salt) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def fictional_phone(index: int) -> str:
    """+1 AAA 555 01NN: the ``index``-th of the thousand numbers reserved for fiction."""
    area = FICTIONAL_AREA_CODES[(index // 100) % len(FICTIONAL_AREA_CODES)]
    return f"+1{area}55501{index % 100:02d}"


def demo_customer(index: int, *, prefix: str) -> DemoCustomer:
    bits = _mix(index, _CUSTOMER_SALT)
    return DemoCustomer(
        external_id=f"{prefix}C{index:08d}",
        name=SURNAMES[bits % len(SURNAMES)] + GIVEN_NAMES[(bits >> 8) % len(GIVEN_NAMES)],
        phone=fictional_phone(index),
        email=f"customer{index}@example.com" if (bits >> 16) % 100 < 80 else "",
        language="en" if (bits >> 24) % 100 < 15 else "zh-hans",
    )


def demo_order(index: int, *, prefix: str, customer_count: int, anchor: datetime) -> DemoOrder:
    bits = _mix(index, _ORDER_SALT)
    hub, hub_city = HUBS[index % len(HUBS)]
    created_at = anchor - timedelta(hours=2 + bits % 95)
    delivered = (bits >> 8) % 100 >= 85
    return DemoOrder(
        tracking_number=f"{prefix}{TRACKING_NUMBER_BASE + index:013d}",
        customer_external_id=f"{prefix}C{index % customer_count:08d}",
        origin_city=hub_city,
        destination_city=CITIES[(bits >> 16) % len(CITIES)],
        hub=hub,
        status=ParcelStatus.DELIVERED if delivered else OPEN_STATUSES[(bits >> 24) % len(OPEN_STATUSES)],
        created_at=created_at,
        promised_delivery=created_at + timedelta(hours=(48, 72, 96)[(bits >> 32) % 3]),
    )


def demo_tracking_events(order: DemoOrder) -> list[dict[str, object]]:
    """A plausible scan history up to the order's status."""
    path = [
        ParcelStatus.PICKED_UP,
        ParcelStatus.IN_TRANSIT,
        ParcelStatus.AT_HUB,
        ParcelStatus.OUT_FOR_DELIVERY,
        ParcelStatus.DELIVERED,
    ]
    reached = path[: path.index(ParcelStatus(order.status)) + 1] if order.status in path else path[:1]
    locations = {
        ParcelStatus.PICKED_UP: f"{order.origin_city}揽收网点",
        ParcelStatus.IN_TRANSIT: f"{order.origin_city} → {order.destination_city}",
        ParcelStatus.AT_HUB: order.hub,
        ParcelStatus.OUT_FOR_DELIVERY: f"{order.destination_city}派送站",
        ParcelStatus.DELIVERED: f"{order.destination_city}",
    }
    return [
        {
            "occurred_at": order.created_at + timedelta(hours=3 + 9 * step),
            "location": locations[status],
            "status": status,
            "description": str(status.label),
        }
        for step, status in enumerate(reached)
    ]


def anchor_time() -> datetime:
    """Midnight today in the project time zone: fixed for a day, so reruns match."""
    from django.utils import timezone

    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


# --- Scale mode -------------------------------------------------------------------


def _copy_rows(table: str, columns: list[str], rows: Iterator[tuple[object, ...]]) -> None:
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


CUSTOMER_COLUMNS = [
    "external_id",
    "name",
    "phone",
    "email",
    "language",
    "sms_consent",
    "email_consent",
    "created_at",
    "updated_at",
]
ORDER_COLUMNS = [
    "tracking_number",
    "customer_id",
    "origin_city",
    "destination_city",
    "hub",
    "status",
    "promised_delivery",
    "created_at",
    "updated_at",
]


def customer_row(customer: DemoCustomer, now: datetime) -> tuple[object, ...]:
    return (
        customer.external_id,
        customer.name,
        customer.phone,
        customer.email,
        customer.language,
        True,
        True,
        now,
        now,
    )


def order_row(order: DemoOrder, customer_id: int, now: datetime) -> tuple[object, ...]:
    return (
        order.tracking_number,
        customer_id,
        order.origin_city,
        order.destination_city,
        order.hub,
        order.status,
        order.promised_delivery,
        order.created_at,
        now,
    )


def _missing_indices(
    model: type[Customer] | type[Order], key: str, prefix: str, count: int, *, base: int = 0
) -> list[int]:
    existing = (
        model.objects.filter(**{f"{key}__startswith": prefix})
        .values_list(key, flat=True)
        .iterator(chunk_size=SCALE_BATCH_SIZE)
    )
    present = {int(value[len(prefix) :]) - base for value in existing}
    return [index for index in range(count) if index not in present]


def seed_scale(*, orders: int, prefix: str = "JD") -> tuple[int, int]:
    """Insert ``orders`` parcels and a third as many customers; returns what was created.

    Bulk paths only: ``COPY`` on PostgreSQL, ``bulk_create`` in batches elsewhere.
    Rows already present (same prefix and index) are skipped, so a rerun adds nothing.
    """
    from django.utils import timezone

    customer_count = max(1, orders // 3)
    anchor = anchor_time()
    now = timezone.now()
    customer_prefix = f"{prefix}C"
    missing_customers = _missing_indices(Customer, "external_id", customer_prefix, customer_count)
    missing_orders = _missing_indices(Order, "tracking_number", prefix, orders, base=TRACKING_NUMBER_BASE)
    use_copy = connection.vendor == "postgresql"

    with transaction.atomic():
        new_customers = (demo_customer(index, prefix=prefix) for index in missing_customers)
        if use_copy:
            _copy_rows(Customer._meta.db_table, CUSTOMER_COLUMNS, (customer_row(c, now) for c in new_customers))
        else:
            for chunk in _chunks(new_customers, SCALE_BATCH_SIZE):
                Customer.objects.bulk_create([Customer(**vars(c)) for c in chunk])
        customer_ids = dict(
            Customer.objects.filter(external_id__startswith=customer_prefix)
            .values_list("external_id", "id")
            .iterator(chunk_size=SCALE_BATCH_SIZE)
        )
        new_orders = (
            demo_order(index, prefix=prefix, customer_count=customer_count, anchor=anchor) for index in missing_orders
        )
        if use_copy:
            _copy_rows(
                Order._meta.db_table,
                ORDER_COLUMNS,
                (order_row(o, customer_ids[o.customer_external_id], now) for o in new_orders),
            )
        else:
            for order_chunk in _chunks(new_orders, SCALE_BATCH_SIZE):
                Order.objects.bulk_create([_order_model(o, customer_ids[o.customer_external_id]) for o in order_chunk])
        tables_analyze(Customer, Order)
    return len(missing_customers), len(missing_orders)


def _chunks(items: Iterator[T] | Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _order_model(order: DemoOrder, customer_id: int) -> Order:
    return Order(
        tracking_number=order.tracking_number,
        customer_id=customer_id,
        origin_city=order.origin_city,
        destination_city=order.destination_city,
        hub=order.hub,
        status=order.status,
        promised_delivery=order.promised_delivery,
        created_at=order.created_at,
    )
