"""What a Prometheus scrape of ``/metrics`` returns.

Request latency comes from every web process (``core/metrics.py``). Everything else,
queue depth, messages by status and channel, send latency, complaint deadlines, open
incidents, is state in PostgreSQL and Redis, read when Prometheus scrapes, so it is the
same whichever process answers and needs no counters kept in step with the database.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from ops.health import operational_state

logger = logging.getLogger(__name__)

# Send latency is read over this recent window, so it shows the current state.
SEND_LATENCY_WINDOW = timedelta(minutes=15)


def _queue_depths() -> dict[str, int]:
    """Messages waiting in the broker's queue, and those a worker holds but has not
    acknowledged (including retries waiting out their countdown)."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return {}
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    return {queue: int(client.llen(queue)), "unacked": int(client.hlen("unacked"))}


class StateCollector:
    """Gauges computed from the database and the broker on every scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("parcel_metrics_source_up", "Whether a source could be read.", labels=["source"])
        try:
            state = operational_state(send_latency_window=SEND_LATENCY_WINDOW)
            up.add_metric(["database"], 1)
        except Exception as error:  # noqa: BLE001 - a scrape must answer even when the database is down
            logger.warning("metrics: database unreadable", extra={"error": type(error).__name__})
            state = None
            up.add_metric(["database"], 0)
        try:
            depths = _queue_depths()
            up.add_metric(["broker"], 1)
        except Exception as error:  # noqa: BLE001
            logger.warning("metrics: broker unreadable", extra={"error": type(error).__name__})
            depths = {}
            up.add_metric(["broker"], 0)
        yield up

        queue = GaugeMetricFamily("parcel_celery_queue_depth", "Tasks waiting in the broker.", labels=["queue"])
        for name, depth in depths.items():
            queue.add_metric([name], depth)
        yield queue
        if state is None:
            return

        notifications = GaugeMetricFamily(
            "parcel_notifications", "Outbox messages by status and channel.", labels=["status", "channel"]
        )
        for (status, channel), count in sorted(state.notifications.items()):
            notifications.add_metric([status, channel], count)
        yield notifications

        latency = GaugeMetricFamily(
            "parcel_notification_send_latency_seconds",
            f"From the message's creation to the provider's answer, over the last "
            f"{int(SEND_LATENCY_WINDOW.total_seconds() // 60)} minutes.",
            labels=["channel", "quantile"],
        )
        for (channel, quantile), seconds in sorted(state.send_latency.items()):
            latency.add_metric([channel, quantile], seconds)
        yield latency

        complaints = GaugeMetricFamily(
            "parcel_complaint_replies_owed", "Owed complaint replies: due (still in time) or overdue.", labels=["state"]
        )
        complaints.add_metric(["due"], state.replies_due)
        complaints.add_metric(["overdue"], state.replies_overdue)
        yield complaints

        incidents = GaugeMetricFamily("parcel_open_incidents", "Open incidents by severity.", labels=["severity"])
        for severity, count in sorted(state.open_incidents.items()):
            incidents.add_metric([str(severity)], count)
        yield incidents


_STATE_REGISTRY = CollectorRegistry(auto_describe=False)
_STATE_REGISTRY.register(StateCollector())


def metrics_text() -> bytes:
    """The exposition text: request metrics of every process, then the state gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
        requests = generate_latest(processes)
    else:
        requests = generate_latest(REGISTRY)
    return requests + generate_latest(_STATE_REGISTRY)
