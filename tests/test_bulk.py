"""Set-based inserts: one statement, idempotent, and the planner told how big the table became."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import DateTimeField, IntegerField, Value
from django.utils import timezone

from core.bulk import insert_from_select
from incidents.models import AffectedOrder, AffectedReason
from orders.models import Order
from tests.factories import OrderFactory, declare_incident

pytestmark = pytest.mark.django_db


def _planner_rows(model) -> float:
    """What PostgreSQL's planner believes the table holds (-1: never analysed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        return cursor.fetchone()[0]


def _link_all(incident, *, analyze_after: int) -> int:
    now = timezone.now()
    select = Order.objects.annotate(
        link_incident=Value(incident.pk, output_field=IntegerField()),
        link_reason=Value(AffectedReason.DELAYED),
        link_at=Value(now, output_field=DateTimeField()),
    ).values_list("link_incident", "id", "link_reason", "promised_delivery", "link_at")
    return insert_from_select(
        AffectedOrder,
        ["incident", "order", "reason", "original_promise", "linked_at"],
        select,
        conflict_fields=["incident", "order"],
        analyze_after=analyze_after,
    )


def test_a_large_insert_refreshes_the_planners_statistics_and_a_small_one_does_not():
    incident = declare_incident()
    OrderFactory.create_batch(30)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {AffectedOrder._meta.db_table}")  # the table as it was: empty
    before = _planner_rows(AffectedOrder)

    assert _link_all(incident, analyze_after=31) == 30  # below the threshold: left to autovacuum
    assert _planner_rows(AffectedOrder) == before

    AffectedOrder.objects.all().delete()
    assert _link_all(incident, analyze_after=30) == 30
    assert _planner_rows(AffectedOrder) == 30  # the planner knows at once, in the same transaction


def test_running_it_twice_inserts_nothing_the_second_time():
    incident = declare_incident()
    OrderFactory.create_batch(3)

    assert _link_all(incident, analyze_after=1) == 3
    assert _link_all(incident, analyze_after=1) == 0
    assert AffectedOrder.objects.filter(incident=incident).count() == 3
