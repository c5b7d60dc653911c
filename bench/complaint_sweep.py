"""The complaint-deadline sweep at 10,000 and at 1,000,000 complaints, 1,000 due in both.

    .venv/bin/python -m bench.complaint_sweep --rounds 3

The sweep's work must follow the deadlines due, not the size of the table: the
ratio of the two times should stay below 2. Rows are written with
``generate_series`` (only the sweep is timed); between rounds the 1,000
escalations are undone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from devtools.harness import scratch_django, staff_user, vacuum

DUE = 1000

FILL_SQL = """
INSERT INTO complaints_complaint (reference, customer_id, reason, description, channel, status, access_token, reply_due_at, escalated, created_at, updated_at)
SELECT 'BN' || lpad(n::text, 10, '0'), %(customer)s, 'delay', 'bench', 'portal', 'new', md5(n::text) || md5((n + 1)::text),
       now() + interval '2 days', false, now(), now()
FROM generate_series(%(start)s, %(stop)s) AS n;
INSERT INTO complaints_replydeadline (complaint_id, started_at, due_at, answered_at, met)
SELECT id, now(), CASE WHEN id <= %(first)s + %(due)s - 1 THEN now() - interval '1 minute' ELSE now() + interval '2 days' END,
       CASE WHEN id %% 3 = 0 AND id > %(first)s + %(due)s THEN now() ELSE NULL END,
       CASE WHEN id %% 3 = 0 AND id > %(first)s + %(due)s THEN true ELSE NULL END
FROM complaints_complaint WHERE id BETWEEN %(first)s AND %(last)s;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large", type=int, default=1_000_000)
    arguments = parser.parse_args()
    scratch_django()
    from django.db import connection

    from complaints.models import Complaint, ReplyDeadline
    from complaints.services import complaint_deadlines_sweep
    from core import roles
    from customers.models import Customer

    customer = Customer.objects.create(external_id="BENCH", name="王芳", phone="+12025550101")
    staff_user(role=roles.SUPERVISOR, username="bench-supervisor", email="supervisor@example.com")
    results = {}
    for size in (10_000, arguments.large):
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE complaints_replydeadline, complaints_complaint RESTART IDENTITY CASCADE")
            cursor.execute(
                FILL_SQL, {"customer": customer.pk, "start": 1, "stop": size, "first": 1, "last": size, "due": DUE}
            )
        vacuum("complaints_complaint", "complaints_replydeadline")
        times = []
        for _round in range(arguments.rounds):
            ReplyDeadline.objects.filter(escalated_at__isnull=False).update(escalated_at=None, met=None)
            Complaint.objects.filter(escalated=True).update(escalated=False)
            started = time.perf_counter()
            swept = complaint_deadlines_sweep()
            times.append(time.perf_counter() - started)
            assert (swept["reminded"], swept["escalated"]) == (0, DUE), swept
        results[size] = statistics.median(times)
        print(
            f"{size:>9,} complaints, {DUE} due: sweep {results[size] * 1000:.0f} ms (median of {arguments.rounds})",
            flush=True,
        )
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    small, large = results[10_000], results[arguments.large]
    print(
        f"\nratio {arguments.large:,} / 10,000 = {large / small:.2f}  (target < 2: the work follows what is due, not the table)"
    )


if __name__ == "__main__":
    main()
