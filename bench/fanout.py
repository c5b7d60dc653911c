"""Fan-out of one incident update to N affected customers, beside plain SQL.

    .venv/bin/python -m bench.fanout --customers 100000 --rounds 3

Seeds 3·N orders (N customers, three parcels each) in a scratch database and
links them all to an incident. Then, per round (the outbox emptied first):

* request:  ``incident_post_update(..., sms=True)`` — what the web request does
            (above NOTIFICATION_SYNC_FAN_OUT_LIMIT it only records the update);
* ours:     ``update_customers_write`` — one SMS and one email row per customer,
            as the worker writes them;
* baseline: the same rows written by one hand-written ``INSERT … SELECT`` per channel;
* queuing:  every row handed to Celery on Redis in chunks of 1,000.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time

from devtools.harness import incident_for, scratch_django, staff_user, vacuum

BASELINE_SQL = """
INSERT INTO notifications_notification (event_type, event_key, customer_id, channel, language, recipient, incident_id,
    incident_update_id, critical, subject, body, status, provider_message_id, provider_status, attempts, last_error,
    uncertain, next_attempt_at, created_at, updated_at)
SELECT 'incident_update', %(key)s, c.id, %(channel)s, c.language, CASE WHEN %(channel)s = 'sms' THEN c.phone ELSE c.email END,
    %(incident)s, NULL, false, '', '',
    CASE WHEN (%(channel)s = 'sms' AND NOT c.sms_consent) OR (%(channel)s = 'email' AND (NOT c.email_consent OR c.email = ''))
         THEN 'suppressed' ELSE 'pending' END,
    '', '', 0, '', false, now(), now(), now()
FROM customers_customer c
WHERE c.id IN (SELECT o.customer_id FROM incidents_affectedorder a JOIN orders_order o ON o.id = a.order_id WHERE a.incident_id = %(incident)s)
ON CONFLICT (event_key, customer_id, channel) DO NOTHING
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    scratch_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from core import roles
    from incidents.criteria import LinkCriteria
    from incidents.linking import incident_link_orders
    from incidents.messaging import update_customers_write
    from incidents.services import incident_post_update
    from notifications.models import Notification
    from notifications.services import notifications_dispatch
    from ops import demo

    settings.QUIET_HOURS_START = settings.QUIET_HOURS_END = 0
    call_command("seed_demo", orders=arguments.customers * 3, prefix="BN", stdout=io.StringIO())
    manager = staff_user(role=roles.SUPERVISOR, username="bench-supervisor")
    incident = incident_for(manager)
    incident_link_orders(
        incident=incident, criteria=LinkCriteria(hubs=[hub for hub, _ in demo.HUBS]), actor=manager, notify=False
    )
    expected = arguments.customers * 2

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE notifications_notification")
        vacuum("notifications_notification")

    requests, ours, baseline, queueing = [], [], [], []
    for round_number in range(1, arguments.rounds + 1):
        reset()
        started = time.perf_counter()
        update = incident_post_update(
            incident_id=incident.pk, actor=manager, body_zh=f"第{round_number}次更新", sms=True
        )
        requests.append(time.perf_counter() - started)
        started = time.perf_counter()
        with transaction.atomic():
            update_customers_write(update=update)
        ours.append(time.perf_counter() - started)
        written = Notification.objects.filter(incident_update=update).count()
        assert written == expected, (written, expected)
        started = time.perf_counter()
        queued = notifications_dispatch(pending=Notification.objects.filter(incident_update=update))
        queueing.append(time.perf_counter() - started)
        reset()
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for channel in ("sms", "email"):
                cursor.execute(
                    BASELINE_SQL, {"key": f"baseline-{round_number}", "channel": channel, "incident": incident.pk}
                )
        baseline.append(time.perf_counter() - started)
        assert Notification.objects.count() == expected
        print(
            f"round {round_number}: request {requests[-1]:.2f} s, fan-out {ours[-1]:.2f} s, "
            f"INSERT … SELECT {baseline[-1]:.2f} s, queue {queued} rows {queueing[-1]:.2f} s",
            flush=True,
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    print(
        f"\nfan-out to {arguments.customers:,} customers ({expected:,} rows, SMS + email), median of {arguments.rounds}:\n"
        f"  the web request (update recorded)   {statistics.median(requests):6.2f} s\n"
        f"  update_customers_write (worker)     {ours_median:6.2f} s\n"
        f"  plain INSERT … SELECT               {baseline_median:6.2f} s\n"
        f"  ratio SQL/ours                      {baseline_median / ours_median:6.2f}  (1.00 = as fast as plain SQL)\n"
        f"  queuing all rows in chunks of 1,000 {statistics.median(queueing):6.2f} s (in the worker, after the request)"
    )


if __name__ == "__main__":
    main()
