"""Issuing coupons by rule to N affected orders, beside a plain bulk insert of the same rows.

    .venv/bin/python bench/compensation_issue.py --orders 100000 --rounds 3

Per round (coupons emptied first):
* ours:     ``compensation_plan`` then ``compensation_issue`` — rule matching in SQL
            into the request's plan, codes drawn in Python, batched inserts that skip
            what exists, each batch with its coupons' SMS and email rows;
* baseline: the same rows (codes drawn beforehand, nothing matched) through one
            ``bulk_create`` in the same batch size.
Prints both and plain/ours (target ≥ 0.5).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scratch import affected_customers, setup_django_on_scratch_database, vacuum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    setup_django_on_scratch_database()
    from django.db import connection
    from django.utils import timezone

    from compensation.codes import new_code
    from compensation.models import CompensationRequest, CompensationRule, Coupon
    from compensation.rules import ISSUE_BATCH, compensation_issue, compensation_plan
    from incidents.models import AffectedOrder

    incident, supervisor = affected_customers(count=arguments.orders, prefix="BN")
    AffectedOrder.objects.filter(incident=incident).update(new_estimate=timezone.now() + timedelta(days=3))
    CompensationRule.objects.create(incident=incident, value=Decimal("5"))
    pairs = list(AffectedOrder.objects.filter(incident=incident).values_list("order_id", "order__customer_id"))

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE compensation_coupon, compensation_compensationrequest CASCADE")
            cursor.execute("DELETE FROM notifications_notification WHERE event_type = 'compensation_issued'")
        vacuum("compensation_coupon")

    ours, baseline = [], []
    for round_number in range(1, arguments.rounds + 1):
        reset()
        started = time.perf_counter()
        # Ours: fix the plan (one INSERT … SELECT), then issue it with each coupon's SMS and email rows.
        request = CompensationRequest.objects.create(
            kind="incident_rules",
            incident=incident,
            cost=0,
            requested_by=supervisor,
            decided_by=supervisor,
            status="approved",
        )
        compensation_plan(request=request)
        assert compensation_issue(request=request) == arguments.orders
        ours.append(time.perf_counter() - started)
        reset()
        now = timezone.now()
        rows = [
            Coupon(
                code=new_code(),
                customer_id=customer_id,
                order_id=order_id,
                incident=incident,
                source="incident_rule",
                value=Decimal("5"),
                minimum_spend=Decimal("0"),
                valid_from=now,
                valid_until=now + timedelta(days=30),
                reason=incident.reference,
                issued_by=supervisor,
            )
            for order_id, customer_id in pairs
        ]
        started = time.perf_counter()
        Coupon.objects.bulk_create(rows, batch_size=ISSUE_BATCH)
        baseline.append(time.perf_counter() - started)
        print(
            f"round {round_number}: compensation_issue {ours[-1]:.2f} s, plain bulk insert {baseline[-1]:.2f} s",
            flush=True,
        )
    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    print(
        f"\n{arguments.orders:,} coupons by rule, median of {arguments.rounds}:\n"
        f"  compensation_issue   {ours_median:6.2f} s\n"
        f"  plain bulk insert    {baseline_median:6.2f} s\n"
        f"  ratio plain/ours     {baseline_median / ours_median:6.2f}  (target ≥ 0.50)"
    )


if __name__ == "__main__":
    main()
