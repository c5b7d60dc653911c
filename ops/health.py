"""Health of the parts the product depends on, for /healthz."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app as celery_app
from django.conf import settings
from django.db import connection
from django.utils import timezone

from complaints.models import ReplyDeadline
from core.models import WorkerHeartbeat
from incidents.models import OPEN_STATUSES, Incident
from notifications.models import Notification

logger = logging.getLogger(__name__)
BROKER_CONNECT_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def _down(check: str, error: Exception) -> Check:
    # /healthz is public: the exception's text (host names, users, paths) goes to the
    # log only; the answer says which check failed.
    logger.error("health check failed", extra={"check": check, "error": f"{type(error).__name__}: {error}"[:500]})
    return Check(ok=False, detail="unreachable")


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means "down"
        return _down("database", error)
    return Check(ok=True, detail=connection.vendor)


def broker_check() -> Check:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=BROKER_CONNECT_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001
        return _down("broker", error)
    return Check(ok=True, detail=celery_app.conf.broker_url.split("://", 1)[0])


def worker_check(*, now: datetime | None = None) -> Check:
    now = now or timezone.now()
    try:
        latest = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    except Exception as error:  # noqa: BLE001
        return Check(ok=False, detail=f"cannot read heartbeats: {type(error).__name__}")
    if latest is None:
        return Check(ok=False, detail="no worker heartbeat yet")
    age = now - latest
    seconds = int(age.total_seconds())
    if age > settings.WORKER_HEARTBEAT_MAX_AGE:
        return Check(ok=False, detail=f"last heartbeat {seconds}s ago")
    return Check(ok=True, detail=f"last heartbeat {seconds}s ago")


def health_report() -> dict[str, Check]:
    return {"database": database_check(), "broker": broker_check(), "worker": worker_check()}


@dataclass(frozen=True)
class OperationalState:
    notifications: dict[tuple[str, str], int]
    send_latency: dict[tuple[str, str], float]
    replies_due: int
    replies_overdue: int
    open_incidents: dict[int, int]


SEND_LATENCY_QUANTILES = ("0.5", "0.95", "0.99")
# Send latency is read from at most this many of the newest messages.
SEND_LATENCY_SAMPLE = 20_000


def operational_state(*, send_latency_window: timedelta, now: datetime | None = None) -> OperationalState:
    """Counts for /metrics, each one aggregate query (indexes on status and deadlines)."""
    from django.db.models import Count

    now = now or timezone.now()
    notifications = {
        (row["status"], row["channel"]): row["count"]
        for row in Notification.objects.values("status", "channel").annotate(count=Count("id")).order_by()
    }
    owed = ReplyDeadline.objects.filter(answered_at__isnull=True)
    open_incidents = {
        row["severity"]: row["count"]
        for row in Incident.objects.filter(status__in=OPEN_STATUSES)
        .values("severity")
        .annotate(count=Count("id"))
        .order_by()
    }
    return OperationalState(
        notifications=notifications,
        send_latency=_send_latency(since=now - send_latency_window),
        replies_due=owed.filter(due_at__gt=now).count(),
        replies_overdue=owed.filter(due_at__lte=now).count(),
        open_incidents=open_incidents,
    )


def _send_latency(*, since: datetime) -> dict[tuple[str, str], float]:
    if connection.vendor != "postgresql":
        return {}  # percentile_cont is PostgreSQL's; the embedded SQLite setup goes without

    table = Notification._meta.db_table
    quantiles = ", ".join(
        f"percentile_cont({quantile}) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at))"
        for quantile in SEND_LATENCY_QUANTILES
    )
    with connection.cursor() as cursor:
        cursor.execute(
            # The newest rows through the primary key: a bounded read however large
            # the outbox grows (there is no index on sent_at).
            f"SELECT channel, {quantiles} FROM (SELECT channel, created_at, sent_at FROM {table} "  # noqa: S608 - constants only
            f"ORDER BY id DESC LIMIT {SEND_LATENCY_SAMPLE}) AS recent WHERE sent_at >= %s GROUP BY channel",
            [since],
        )
        rows = cursor.fetchall()
    return {
        (channel, quantile): float(value)
        for channel, *values in rows
        for quantile, value in zip(SEND_LATENCY_QUANTILES, values, strict=True)
        if value is not None
    }
