"""Writing what happened to a batch of messages: one statement for the batch.

On PostgreSQL one ``UPDATE … FROM (VALUES …)`` writes every row's outcome; the
embedded SQLite database, which sees a demo's worth of messages, updates row by
row in one transaction. Only rows still in ``sending`` are written: a row the
sweeper took back (its lease ran out) is the sweeper's now.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypedDict, Unpack

from django.db import connection
from django.utils import timezone

from notifications.models import Notification, PendingReceipt, Status

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


def backoff_seconds(attempts: int) -> float:
    """Exponential with full jitter: spreads retries so a recovering provider is not stampeded."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


class OutcomeFields(TypedDict, total=False):
    status: str
    provider_message_id: str
    provider_status: str
    sent_at: datetime | None
    last_error: str
    next_attempt_at: datetime | None
    queued_at: datetime | None
    uncertain: bool
    attempts_delta: int
    retry_in: float | None


@dataclass(frozen=True)
class Outcome:
    """One message's result, as it will be written. ``result`` is what the caller is told."""

    notification: Notification
    result: str
    status: str
    provider_message_id: str = ""
    provider_status: str = ""
    sent_at: datetime | None = None
    last_error: str = ""
    next_attempt_at: datetime | None = None  # None keeps the row's own
    queued_at: datetime | None = None
    uncertain: bool = False
    attempts_delta: int = 0
    retry_in: float | None = None  # seconds until a retry task should run

    @classmethod
    def of(cls, notification: Notification, result: str, **fields: Unpack[OutcomeFields]) -> Outcome:
        return replace(cls(notification=notification, result=result, status=Status.PENDING), **fields)


_COLUMNS = (
    ("id", "bigint"),
    ("status", "varchar"),
    ("recipient", "varchar"),
    ("subject", "varchar"),
    ("body", "text"),
    ("provider_message_id", "varchar"),
    ("provider_status", "varchar"),
    ("sent_at", "timestamptz"),
    ("last_error", "varchar"),
    ("next_attempt_at", "timestamptz"),
    ("queued_at", "timestamptz"),
    ("uncertain", "boolean"),
    ("attempts_delta", "integer"),
)

_UPDATE = """
WITH outcome ({names}) AS (VALUES {rows})
UPDATE {table} SET
    status = outcome.status,
    recipient = outcome.recipient,
    subject = outcome.subject,
    body = outcome.body,
    provider_message_id = outcome.provider_message_id,
    provider_status = outcome.provider_status,
    sent_at = COALESCE(outcome.sent_at, {table}.sent_at),
    last_error = outcome.last_error,
    next_attempt_at = COALESCE(outcome.next_attempt_at, {table}.next_attempt_at),
    queued_at = outcome.queued_at,
    claimed_at = NULL,
    uncertain = ({table}.uncertain OR outcome.uncertain),
    attempts = {table}.attempts + outcome.attempts_delta,
    updated_at = %s
FROM outcome
WHERE {table}.id = outcome.id AND {table}.status = 'sending'
RETURNING {table}.id
"""


def outcomes_write(outcomes: list[Outcome]) -> set[int]:
    """Write the batch in one statement; returns the ids written. Then apply any
    delivery receipt that arrived for these messages before their ids were stored."""
    if not outcomes:
        return set()
    ops = connection.ops
    table = connection.ops.quote_name(Notification._meta.db_table)
    postgres = connection.vendor == "postgresql"
    placeholder = "(" + ", ".join(f"%s::{kind}" if postgres else "%s" for _name, kind in _COLUMNS) + ")"
    params: list[int | str | bool | None] = []
    for outcome in outcomes:
        row = outcome.notification
        params += [
            row.pk,
            outcome.status,
            row.recipient,
            row.subject,
            row.body,
            outcome.provider_message_id,
            outcome.provider_status,
            ops.adapt_datetimefield_value(outcome.sent_at),
            outcome.last_error,
            ops.adapt_datetimefield_value(outcome.next_attempt_at),
            ops.adapt_datetimefield_value(outcome.queued_at),
            outcome.uncertain,
            outcome.attempts_delta,
        ]
    params.append(ops.adapt_datetimefield_value(timezone.now()))
    sql = _UPDATE.format(
        names=", ".join(name for name, _kind in _COLUMNS),
        rows=", ".join([placeholder] * len(outcomes)),
        table=table,
    )
    with connection.cursor() as cursor:  # one statement: atomic by itself
        cursor.execute(sql, params)
        written = {row[0] for row in cursor.fetchall()}
    if len(written) < len(outcomes):
        logger.warning(
            "outcomes not written: the rows were no longer being sent by this worker",
            extra={"count": len(outcomes) - len(written)},
        )
    sids = [outcome.provider_message_id for outcome in outcomes if outcome.provider_message_id]
    if sids and _receipts_may_be_waiting():
        receipts_waiting_apply(provider_message_ids=sids)
    return written


# Receipts rarely come before their message's id is stored: whether any wait is
# looked up at most once a second per process, not on every write; the sweeper
# applies whatever waits for an id written meanwhile.
_RECEIPTS_LOOKED_UP_EVERY_SECONDS = 1.0
_receipts_looked_up = {"at": 0.0, "waiting": True}


def _receipts_may_be_waiting() -> bool:
    now = time.monotonic()
    if now - _receipts_looked_up["at"] >= _RECEIPTS_LOOKED_UP_EVERY_SECONDS:
        _receipts_looked_up.update(at=now, waiting=PendingReceipt.objects.exists())
    return bool(_receipts_looked_up["waiting"])


def receipts_waiting_note() -> None:
    """A receipt was just kept in this process: the next write looks for it."""
    _receipts_looked_up["waiting"] = True


def receipts_waiting_apply(*, provider_message_ids: list[str] | None = None) -> int:
    """Apply the kept receipts whose message now carries their provider id; returns how many."""
    from notifications.receipts import notification_receipt_apply

    waiting_receipts = PendingReceipt.objects.order_by("pk")
    if provider_message_ids is not None:
        waiting_receipts = waiting_receipts.filter(provider_message_id__in=provider_message_ids)
    else:
        waiting_receipts = waiting_receipts.filter(
            provider_message_id__in=Notification.objects.exclude(provider_message_id="").values("provider_message_id")
        )
    waiting = list(waiting_receipts[:1000])
    for receipt in waiting:
        notification_receipt_apply(
            provider_message_id=receipt.provider_message_id,
            provider_status=receipt.provider_status,
            error_code=receipt.error_code,
            keep_if_unknown=False,
        )
    if waiting:
        PendingReceipt.objects.filter(pk__in=[receipt.pk for receipt in waiting]).delete()
    return len(waiting)
