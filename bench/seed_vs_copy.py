"""Scale seed vs. PostgreSQL COPY of the same rows, side by side in one run.

    .venv/bin/python -m bench.seed_vs_copy --orders 100000 --rounds 3

Creates a scratch database (``parcel_bench`` on BENCH_DATABASE_URL's server,
dropped and re-created), then alternates, per round:

* ours:     ``manage.py seed_demo --orders N`` (generates the rows in Python and
            loads them through its bulk path), timed end to end;
* baseline: COPY of byte-identical rows prepared in memory beforehand, with
            primary keys given, so nothing but the load itself is timed.

Both start from empty tables. Prints each time and the ratio baseline/ours
(1.0 = as fast as the best possible path on this machine).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

from devtools.harness import scratch_django, vacuum


def empty_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE orders_trackingevent, orders_order, customers_customer RESTART IDENTITY CASCADE")
    vacuum("customers_customer", "orders_order")


def prepared_copy_buffers(orders: int, prefix: str) -> tuple[str, str]:
    """The rows seed_demo would write, as COPY text, with primary keys assigned."""
    from django.utils import timezone

    from ops import demo

    customer_count = max(1, orders // 3)
    anchor = demo.anchor_time()
    now = timezone.now()
    customers = io.StringIO()
    for index in range(customer_count):
        row = demo.customer_row(demo.demo_customer(index, prefix=prefix), now)
        customers.write("\t".join([str(index + 1), *map(str, row)]) + "\n")
    orders_buffer = io.StringIO()
    for index in range(orders):
        order = demo.demo_order(index, prefix=prefix, customer_count=customer_count, anchor=anchor)
        customer_id = int(order.customer_external_id[len(prefix) + 1 :]) + 1
        row = demo.order_row(order, customer_id, now)
        orders_buffer.write("\t".join([str(index + 1), *map(str, row)]) + "\n")
    return customers.getvalue(), orders_buffer.getvalue()


def time_copy(customers: str, orders: str) -> float:
    from django.db import connection, transaction

    from ops import demo

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns, data in (
            ("customers_customer", ["id", *demo.CUSTOMER_COLUMNS], customers),
            ("orders_order", ["id", *demo.ORDER_COLUMNS], orders),
        ):
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write(data)
    return time.perf_counter() - started


def time_seed(orders: int, prefix: str) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("seed_demo", orders=orders, prefix=prefix, stdout=io.StringIO())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    prefix = "BN"

    scratch_django()
    from orders.models import Order

    customers, orders = prepared_copy_buffers(arguments.orders, prefix)

    ours, baseline = [], []
    for round_number in range(1, arguments.rounds + 1):
        empty_tables()
        ours.append(time_seed(arguments.orders, prefix))
        assert Order.objects.count() == arguments.orders
        empty_tables()
        baseline.append(time_copy(customers, orders))
        assert Order.objects.count() == arguments.orders
        print(f"round {round_number}: seed_demo {ours[-1]:.2f} s, COPY {baseline[-1]:.2f} s", flush=True)

    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    print(
        f"\n{arguments.orders:,} orders + {arguments.orders // 3:,} customers, median of {arguments.rounds}:\n"
        f"  seed_demo --orders   {ours_median:7.2f} s  ({arguments.orders / ours_median:,.0f} orders/s)\n"
        f"  plain COPY           {baseline_median:7.2f} s  ({arguments.orders / baseline_median:,.0f} orders/s)\n"
        f"  ratio COPY/ours      {baseline_median / ours_median:7.2f}  (1.00 = as fast as COPY)"
    )


if __name__ == "__main__":
    main()
