"""Health of the parts the product depends on, for /healthz."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from core.models import WorkerHeartbeat

BROKER_CONNECT_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means "down", reported with its reason
        return Check(ok=False, detail=f"{type(error).__name__}: {error}"[:200])
    return Check(ok=True, detail=connection.vendor)


def broker_check() -> Check:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=BROKER_CONNECT_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001
        return Check(ok=False, detail=f"{type(error).__name__}: {error}"[:200])
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
