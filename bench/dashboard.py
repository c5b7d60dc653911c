"""The whole evaluation dashboard at 1,000,000 orders and 100,000 complaints.

    .venv/bin/python -m bench.dashboard --rounds 3

Fills a scratch database (``parcel_bench_reports``; ``BENCH_DATABASE_URL`` to change):
1,000,000 orders by ``COPY`` (the scale seed), 60 incidents over twelve weeks with
300,000 affected orders and a message per affected parcel and channel, 100,000
complaints with their reply deadlines and 100,000 coupons (rows written with
``generate_series``; only the reading is timed). Then times, over those twelve weeks:

- the dashboard page: one signed-in GET through Django, figures, charts and template;
- the figures alone (``reports.selectors.dashboard``);
- the best plain path: the same aggregates as hand-written SQL, one statement per
  section, on the same connection.

and prints the ratio of our whole page to the plain SQL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parcel_bench_reports")
from devtools.harness import scratch_django, staff_user, vacuum

INCIDENTS = 60
AFFECTED = 300_000
COMPLAINTS = 100_000
COUPONS = 100_000
WEEKS = 12

FILL_SQL = """
-- Incidents across the four categories, one every 1.4 days, reported from twelve weeks ago.
INSERT INTO incidents_incident (category_id, severity, title_zh, title_en, summary_zh, summary_en, description,
    status, impact_started_at, reported_at, acknowledged_at, mitigated_at, resolved_at, closed_at,
    response_target, recovery_target, response_due_at, recovery_due_at, response_met, recovery_met,
    root_cause, measures_taken, improvements, created_at, updated_at, estimated_recovery_at)
SELECT category.id, 1 + n %% 4, '压测事件 ' || n, 'Bench incident ' || n, '', '', '',
    'resolved', started, started, started + (n %% 7 + 1) * interval '7 minutes', NULL,
    started + (n %% 9 + 1) * interval '40 minutes', NULL,
    category.response_target, category.recovery_target,
    started + category.response_target, started + category.recovery_target,
    CASE WHEN category.response_target IS NULL THEN NULL ELSE (n %% 7 + 1) * interval '7 minutes' <= category.response_target END,
    CASE WHEN category.recovery_target IS NULL THEN NULL ELSE (n %% 9 + 1) * interval '40 minutes' <= category.recovery_target END,
    '', '', '', now(), now(), NULL
FROM generate_series(1, %(incidents)s) AS n
CROSS JOIN LATERAL (SELECT now() - interval '12 weeks' + n * interval '33 hours' AS started) AS t
JOIN incidents_incidentcategory AS category ON category.position = n %% 4;

-- Each incident's block of parcels: 5,000 consecutive orders.
INSERT INTO incidents_affectedorder (incident_id, order_id, reason, original_promise, new_estimate, linked_at)
SELECT incident.id, o.id, (ARRAY['delayed','delayed','delayed','lost','damaged'])[1 + o.id %% 5],
    o.promised_delivery, o.promised_delivery + interval '2 days', incident.reported_at
FROM (SELECT id, reported_at, row_number() OVER (ORDER BY id) - 1 AS k FROM incidents_incident) AS incident
JOIN orders_order AS o ON o.id > (SELECT min(id) FROM orders_order) + incident.k * %(per_incident)s - 1
                      AND o.id <= (SELECT min(id) FROM orders_order) + (incident.k + 1) * %(per_incident)s - 1;

-- A message per affected parcel and channel (a customer with two parcels gets one).
INSERT INTO notifications_notification (event_type, event_key, customer_id, channel, language, recipient,
    incident_id, critical, subject, body, status, provider_message_id, provider_status, attempts, last_error,
    uncertain, next_attempt_at, sent_at, created_at, updated_at)
SELECT 'incident_declared', 'declared-' || a.incident_id, o.customer_id, channel, 'zh-hans', '', a.incident_id,
    false, '', '', (ARRAY['delivered','delivered','delivered','sent','failed','suppressed'])[1 + (o.id + length(channel)) %% 6],
    '', '', 1, '', false, a.linked_at,
    CASE WHEN (o.id + length(channel)) %% 6 < 4 THEN a.linked_at + (o.id %% 3600) * interval '1 second' END,
    a.linked_at, a.linked_at
FROM incidents_affectedorder AS a JOIN orders_order AS o ON o.id = a.order_id
CROSS JOIN unnest(ARRAY['sms', 'email']) AS channel
ON CONFLICT DO NOTHING;

-- Complaints filed over the twelve weeks; a third about an incident; a tenth unanswered.
INSERT INTO complaints_complaint (reference, customer_id, order_id, incident_id, reason, description, channel,
    assignee_id, status, access_token, reply_due_at, first_response_at, escalated, created_at, updated_at)
SELECT 'BR' || lpad(n::text, 10, '0'), o.customer_id, o.id,
    CASE WHEN n %% 3 = 0 THEN (SELECT min(id) FROM incidents_incident) + n %% %(incidents)s END,
    (ARRAY['delay','lost','damaged','wrong_item','returned','attitude','other'])[1 + n %% 7], 'bench', 'portal',
    %(first_agent)s + n %% 10, 'assigned', md5(n::text) || md5((n + 7)::text), NULL,
    CASE WHEN n %% 10 <> 0 THEN filed + (n %% 40) * interval '1 hour' END, false, filed, filed
FROM generate_series(1, %(complaints)s) AS n
JOIN orders_order AS o ON o.id = (SELECT min(id) FROM orders_order) + n * 7
CROSS JOIN LATERAL (SELECT now() - interval '12 weeks' + n * interval '70 seconds' AS filed) AS t;

INSERT INTO complaints_replydeadline (complaint_id, started_at, due_at, answered_at, met, reminded_at, escalated_at)
SELECT id, created_at, created_at + interval '24 hours', first_response_at,
    CASE WHEN first_response_at IS NULL THEN NULL ELSE first_response_at <= created_at + interval '24 hours' END,
    NULL, NULL
FROM complaints_complaint;
UPDATE complaints_replydeadline SET met = false, escalated_at = due_at
WHERE answered_at IS NULL OR answered_at > due_at;

-- Coupons for the first 100,000 affected parcels; a quarter redeemed.
INSERT INTO compensation_coupon (code, customer_id, value, minimum_spend, valid_from, valid_until, status, source,
    reason, incident_id, order_id, redeemed_at, created_at)
SELECT 'B' || lpad(a.id::text, 15, '0'), o.customer_id, (ARRAY[5, 5, 20])[1 + a.id %% 3], 0,
    a.linked_at, a.linked_at + interval '30 days',
    CASE WHEN a.id %% 4 = 0 THEN 'redeemed' ELSE 'issued' END, 'incident_rule', '', a.incident_id, a.order_id,
    CASE WHEN a.id %% 4 = 0 THEN a.linked_at + interval '3 days' END, a.linked_at + interval '1 day'
FROM incidents_affectedorder AS a JOIN orders_order AS o ON o.id = a.order_id
ORDER BY a.id LIMIT %(coupons)s;
"""

# The plain path: the same figures, each section one hand-written statement.
PLAIN_SQL = [
    # incidents: count, percentiles and shares, by category with a total row
    """
    SELECT category_id, count(*),
        percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', acknowledged_at - reported_at)),
        percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', acknowledged_at - reported_at)),
        count(*) FILTER (WHERE response_met), count(response_met),
        percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', resolved_at - reported_at)),
        percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', resolved_at - reported_at)),
        count(*) FILTER (WHERE recovery_met), count(recovery_met),
        count(*) FILTER (WHERE NOT response_met) + count(*) FILTER (WHERE NOT recovery_met)
    FROM incidents_incident WHERE reported_at >= %(start)s AND reported_at < %(end)s
    GROUP BY GROUPING SETS ((category_id), ())
    """,
    # affected orders by reason and distinct customers
    """
    SELECT a.reason, count(*), count(DISTINCT o.customer_id)
    FROM incidents_affectedorder a JOIN orders_order o ON o.id = a.order_id
    JOIN incidents_incident i ON i.id = a.incident_id
    WHERE i.reported_at >= %(start)s AND i.reported_at < %(end)s
    GROUP BY GROUPING SETS ((a.reason), ())
    """,
    # messages by channel and status, customers notified
    """
    SELECT n.channel, n.status, count(*) FROM notifications_notification n
    JOIN incidents_incident i ON i.id = n.incident_id
    WHERE i.reported_at >= %(start)s AND i.reported_at < %(end)s GROUP BY 1, 2
    """,
    """
    SELECT count(DISTINCT n.customer_id) FROM notifications_notification n
    JOIN incidents_incident i ON i.id = n.incident_id
    WHERE i.reported_at >= %(start)s AND i.reported_at < %(end)s AND n.status IN ('sent', 'delivered')
    """,
    # declaration to the last first message
    """
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), percentile_cont(0.9) WITHIN GROUP (ORDER BY s), max(s)
    FROM (SELECT date_part('epoch', max(f.sent_at) - i.reported_at) s
          FROM (SELECT incident_id, customer_id, min(sent_at) sent_at FROM notifications_notification
                WHERE sent_at IS NOT NULL GROUP BY 1, 2) f
          JOIN incidents_incident i ON i.id = f.incident_id
          WHERE i.reported_at >= %(start)s AND i.reported_at < %(end)s GROUP BY i.id, i.reported_at) t
    """,
    # complaints: totals, percentiles, in time; by reason; weekly
    """
    SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', first_response_at - created_at)),
        percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', first_response_at - created_at)),
        count(first_response_at), count(*) FILTER (WHERE first_response_at <= created_at + interval '24 hours'),
        count(*) FILTER (WHERE first_response_at IS NOT NULL OR created_at <= now() - interval '24 hours')
    FROM complaints_complaint WHERE created_at >= %(start)s AND created_at < %(end)s
    """,
    """
    SELECT reason, count(*) FROM complaints_complaint WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY 1
    """,
    """
    SELECT date_trunc('week', created_at), count(*),
        count(*) FILTER (WHERE first_response_at <= created_at + interval '24 hours')
    FROM complaints_complaint WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY 1
    """,
    # breaches by agent and by incident
    """
    SELECT c.assignee_id, c.incident_id, count(*), count(DISTINCT c.id) FROM complaints_replydeadline d
    JOIN complaints_complaint c ON c.id = d.complaint_id
    WHERE d.met = false AND c.created_at >= %(start)s AND c.created_at < %(end)s
    GROUP BY GROUPING SETS ((c.assignee_id), (c.incident_id))
    """,
    # incidents per week, and the distributions against the targets and the 24-hour line
    """
    SELECT date_trunc('week', reported_at), count(*), count(*) FILTER (WHERE NOT response_met OR NOT recovery_met)
    FROM incidents_incident WHERE reported_at >= %(start)s AND reported_at < %(end)s GROUP BY 1
    """,
    """
    SELECT width_bucket(date_part('epoch', resolved_at - reported_at) / date_part('epoch', recovery_target),
                        ARRAY[0.25, 0.5, 0.75, 1, 1.5, 2]::float8[]), count(*)
    FROM incidents_incident WHERE reported_at >= %(start)s AND reported_at < %(end)s
        AND resolved_at IS NOT NULL AND recovery_target > interval '0' GROUP BY 1
    """,
    """
    SELECT width_bucket(date_part('epoch', acknowledged_at - reported_at) / date_part('epoch', response_target),
                        ARRAY[0.25, 0.5, 0.75, 1, 1.5, 2]::float8[]), count(*)
    FROM incidents_incident WHERE reported_at >= %(start)s AND reported_at < %(end)s
        AND acknowledged_at IS NOT NULL AND response_target > interval '0' GROUP BY 1
    """,
    """
    SELECT width_bucket(date_part('epoch', first_response_at - created_at) / 3600,
                        ARRAY[2, 4, 8, 12, 16, 20, 24, 36, 48]::float8[]), count(*)
    FROM complaints_complaint WHERE created_at >= %(start)s AND created_at < %(end)s
        AND first_response_at IS NOT NULL GROUP BY 1
    """,
    # coupons by incident and by rule, with the total
    """
    SELECT incident_id, source, value, count(*), count(*) FILTER (WHERE status = 'redeemed'),
        sum(value) FILTER (WHERE status <> 'revoked'), sum(value) FILTER (WHERE status = 'redeemed')
    FROM compensation_coupon WHERE created_at >= %(start)s AND created_at < %(end)s
    GROUP BY GROUPING SETS ((incident_id), (source, value, minimum_spend), ())
    """,
]


def fill(*, orders: int) -> None:
    from django.db import connection

    from core import roles
    from ops import demo

    started = time.perf_counter()
    demo.seed_scale(orders=orders, prefix="BR")
    print(f"seeded {orders:,} orders in {time.perf_counter() - started:.0f} s", flush=True)
    agents = [staff_user(role=roles.CUSTOMER_SERVICE_AGENT, username=f"bench-agent-{index}") for index in range(10)]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            FILL_SQL,
            {
                "incidents": INCIDENTS,
                "per_incident": AFFECTED // INCIDENTS,
                "complaints": COMPLAINTS,
                "coupons": COUPONS,
                "first_agent": agents[0].pk,
            },
        )
    vacuum(
        "orders_order",
        "incidents_incident",
        "incidents_affectedorder",
        "notifications_notification",
        "complaints_complaint",
        "complaints_replydeadline",
        "compensation_coupon",
    )
    print(f"filled incidents, messages, complaints and coupons in {time.perf_counter() - started:.0f} s", flush=True)


def counts() -> str:
    from compensation.models import Coupon
    from complaints.models import Complaint
    from incidents.models import AffectedOrder, Incident
    from notifications.models import Notification
    from orders.models import Order

    return (
        f"{Order.objects.count():,} orders, {Incident.objects.count()} incidents, "
        f"{AffectedOrder.objects.count():,} affected, {Notification.objects.count():,} messages, "
        f"{Complaint.objects.count():,} complaints, {Coupon.objects.count():,} coupons"
    )


def median_time(call, rounds: int) -> float:  # type: ignore[no-untyped-def]
    call()  # warm the caches once, as a page read every week would find them
    times = []
    for _round in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orders", type=int, default=1_000_000)
    arguments = parser.parse_args()
    scratch_django()
    from datetime import timedelta

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from core import roles
    from reports.forms import DashboardFilterForm
    from reports.selectors import Filters, dashboard

    settings.ALLOWED_HOSTS = ["*"]
    fill(orders=arguments.orders)
    print(counts(), flush=True)

    today = timezone.localdate()
    start = today - timedelta(weeks=WEEKS)
    filters = Filters(start=start, end=today)
    client = Client()
    client.force_login(staff_user(role=roles.SUPERVISOR, username="bench-supervisor"))
    query = {"start": start.isoformat(), "end": today.isoformat()}
    assert DashboardFilterForm(query).is_valid()

    def page() -> None:
        response = client.get("/admin/reports/dashboard/", query)
        assert response.status_code == 200, response.status_code

    def plain() -> None:
        with connection.cursor() as cursor:
            for statement in PLAIN_SQL:
                cursor.execute(statement, {"start": filters.start_at, "end": filters.end_before})
                cursor.fetchall()

    page_time = median_time(page, arguments.rounds)
    figures_time = median_time(lambda: dashboard(filters=filters), arguments.rounds)
    plain_time = median_time(plain, arguments.rounds)
    print(f"\ndashboard page (GET, figures + charts + template): {page_time * 1000:7.0f} ms")
    print(f"figures alone (reports.selectors.dashboard):       {figures_time * 1000:7.0f} ms")
    print(f"plain SQL, the same aggregates ({len(PLAIN_SQL)} statements):    {plain_time * 1000:7.0f} ms")
    print(f"ratio page / plain SQL = {page_time / plain_time:.2f}  (median of {arguments.rounds}, after one warm-up)")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (shared machine)")


if __name__ == "__main__":
    main()
