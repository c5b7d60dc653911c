from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.services import customers_upsert_bulk
from orders.models import Merchant, Order, TrackingEvent

# Fields the order system owns and an ingest overwrites. ``created_at`` is set
# once; ``current_estimate`` only when the row carries one, because incidents
# also move it and a push without an estimate must not erase theirs; ``merchant``
# only when the row names one.
_ORDER_UPDATE_FIELDS = [
    "customer",
    "origin_city",
    "destination_city",
    "hub",
    "status",
    "promised_delivery",
    "updated_at",
]


@dataclass(frozen=True)
class RowError:
    row: int
    tracking_number: str | None
    errors: dict[str, Any]


class OrderBatchRejected(Exception):
    """The batch broke a rule that spans rows; nothing was written."""

    def __init__(self, row_errors: list[RowError]) -> None:
        super().__init__(f"{len(row_errors)} rows rejected")
        self.row_errors = row_errors


@dataclass(frozen=True)
class IngestResult:
    orders_created: int
    orders_updated: int
    customers: int
    events_added: int
    tracking_numbers: list[str] = field(default_factory=list, repr=False)


def order_batch_conflicts(*, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> list[RowError]:
    """Rules between rows of one batch: a tracking number once, one version of each customer."""
    errors: list[RowError] = []
    first_row_of_tracking_number: dict[str, int] = {}
    customer_seen: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for index, row in rows:
        tracking_number = row["tracking_number"]
        if tracking_number in first_row_of_tracking_number:
            errors.append(
                RowError(
                    index,
                    tracking_number,
                    {
                        "tracking_number": [
                            _("Duplicate of row %(row)d in this batch.")
                            % {"row": first_row_of_tracking_number[tracking_number]}
                        ]
                    },
                )
            )
        else:
            first_row_of_tracking_number[tracking_number] = index
        customer = row["customer"]
        earlier = customer_seen.setdefault(customer["external_id"], (index, customer))
        if earlier[1] != customer:
            errors.append(
                RowError(
                    index,
                    tracking_number,
                    {
                        "customer": [
                            _("Customer %(id)s differs from row %(row)d of this batch.")
                            % {"id": customer["external_id"], "row": earlier[0]}
                        ]
                    },
                )
            )
    return errors


def _merchants_upsert(*, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Create or rename the batch's merchants (one statement); returns id by code."""
    names = {row["code"]: row["name"] for row in rows}
    if not names:
        return {}
    Merchant.objects.bulk_create(
        [Merchant(code=code, name=name) for code, name in names.items()],
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name"],
    )
    return dict(Merchant.objects.filter(code__in=list(names)).values_list("code", "id"))


def orders_ingest(*, rows: Sequence[Mapping[str, Any]]) -> IngestResult:
    """Upsert orders, their customers and tracking events from the order system.

    Atomic and set-based: one upsert per table, whatever the batch size; a batch
    that breaks a rule between rows raises ``OrderBatchRejected`` and writes
    nothing. Idempotent: the same batch twice changes nothing the second time.
    """
    conflicts = order_batch_conflicts(rows=list(enumerate(rows)))
    if conflicts:
        raise OrderBatchRejected(conflicts)

    tracking_numbers = [row["tracking_number"] for row in rows]
    now = timezone.now()
    with transaction.atomic():
        customer_ids = customers_upsert_bulk(rows=[row["customer"] for row in rows])
        merchant_ids = _merchants_upsert(rows=[row["merchant"] for row in rows if row.get("merchant")])
        existing = set(
            Order.objects.filter(tracking_number__in=tracking_numbers).values_list("tracking_number", flat=True)
        )

        def as_order(row: Mapping[str, Any]) -> Order:
            return Order(
                tracking_number=row["tracking_number"],
                customer_id=customer_ids[row["customer"]["external_id"]],
                merchant_id=merchant_ids[row["merchant"]["code"]] if row.get("merchant") else None,
                origin_city=row["origin_city"],
                destination_city=row["destination_city"],
                hub=row["hub"],
                status=row["status"],
                promised_delivery=row["promised_delivery"],
                current_estimate=row.get("current_estimate"),
                created_at=row.get("ordered_at") or now,
            )

        # One upsert per shape of row: what a row does not carry it does not overwrite.
        shapes: dict[tuple[str, ...], list[Order]] = {}
        for row in rows:
            carried = ("current_estimate",) * bool(row.get("current_estimate")) + ("merchant",) * bool(
                row.get("merchant")
            )
            shapes.setdefault(carried, []).append(as_order(row))
        for carried, orders in shapes.items():
            Order.objects.bulk_create(
                orders,
                update_conflicts=True,
                unique_fields=["tracking_number"],
                update_fields=[*_ORDER_UPDATE_FIELDS, *carried],
            )

        order_ids = dict(
            Order.objects.filter(tracking_number__in=tracking_numbers).values_list("tracking_number", "id")
        )
        events = [
            TrackingEvent(order_id=order_ids[row["tracking_number"]], **event)
            for row in rows
            for event in row.get("events", [])
        ]
        events_before = TrackingEvent.objects.filter(order_id__in=order_ids.values()).count() if events else 0
        TrackingEvent.objects.bulk_create(events, ignore_conflicts=True)
        events_after = TrackingEvent.objects.filter(order_id__in=order_ids.values()).count() if events else 0

    return IngestResult(
        orders_created=len(tracking_numbers) - len(existing),
        orders_updated=len(existing),
        customers=len(customer_ids),
        events_added=events_after - events_before,
        tracking_numbers=tracking_numbers,
    )
