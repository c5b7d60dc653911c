"""Linking orders to an incident by criteria vs. a hand-written INSERT … SELECT.

    .venv/bin/python -m bench.link_vs_sql --orders 100000 --rounds 3
    .venv/bin/python -m bench.link_vs_sql --orders 1000000 --rounds 2

Seeds the orders in a scratch database, then alternates per round (the link
table emptied and vacuumed before each):

* ours:     ``incident_link_orders`` with criteria matching every order (the
            service the admin and API call, timeline row included);
* baseline: the plain SQL statement a DBA would write for the same rows.

Prints both and the ratio baseline/ours (1.0 = as fast as plain SQL).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from datetime import timedelta

from devtools.harness import incident_for, scratch_django, staff_user, vacuum

BASELINE_SQL = """
INSERT INTO incidents_affectedorder (incident_id, order_id, reason, original_promise, new_estimate, linked_at, linked_by_id)
SELECT %s, id, 'delayed', promised_delivery, promised_delivery + interval '48 hours', now(), %s
FROM orders_order WHERE hub = ANY(%s)
ON CONFLICT (incident_id, order_id) DO NOTHING
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()

    scratch_django()
    from django.core.management import call_command
    from django.db import connection, transaction

    from core import roles
    from incidents.criteria import Estimate, LinkCriteria
    from incidents.linking import incident_link_orders
    from incidents.models import AffectedOrder
    from ops import demo

    call_command("seed_demo", orders=arguments.orders, prefix="BN", stdout=io.StringIO())
    manager = staff_user(role=roles.SUPERVISOR, username="bench-supervisor")
    incident = incident_for(manager)
    hubs = [hub for hub, _city in demo.HUBS]
    criteria = LinkCriteria(hubs=hubs)

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE incidents_affectedorder")
        vacuum("incidents_affectedorder", "orders_order")

    def ours() -> float:
        started = time.perf_counter()
        linked = incident_link_orders(
            incident=incident, criteria=criteria, estimate=Estimate(delay=timedelta(hours=48)), actor=manager
        )
        elapsed = time.perf_counter() - started
        assert linked == arguments.orders, linked
        return elapsed

    def baseline() -> float:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [incident.pk, manager.pk, hubs])
            assert cursor.rowcount == arguments.orders
        return time.perf_counter() - started

    ours_times, baseline_times = [], []
    for round_number in range(1, arguments.rounds + 1):
        reset()
        ours_times.append(ours())
        reset()
        baseline_times.append(baseline())
        print(
            f"round {round_number}: incident_link_orders {ours_times[-1]:.2f} s, INSERT … SELECT {baseline_times[-1]:.2f} s",
            flush=True,
        )
    assert AffectedOrder.objects.count() == arguments.orders
    ours_median, baseline_median = statistics.median(ours_times), statistics.median(baseline_times)
    print(
        f"\nlink {arguments.orders:,} orders by criteria, median of {arguments.rounds}:\n"
        f"  incident_link_orders   {ours_median:7.2f} s  ({arguments.orders / ours_median:,.0f} orders/s)\n"
        f"  plain INSERT … SELECT  {baseline_median:7.2f} s  ({arguments.orders / baseline_median:,.0f} orders/s)\n"
        f"  ratio SQL/ours         {baseline_median / ours_median:7.2f}  (1.00 = as fast as plain SQL; target ≥ 0.70)"
    )


if __name__ == "__main__":
    main()
