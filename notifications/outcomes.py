"""Writing what happened to a batch of messages: one statement for the batch.

On PostgreSQL one ``UPDATE … FROM (VALUES …)`` writes every row's outcome; the
embedded SQLite database, which sees a demo's worth of messages, updates row by
row in one transaction. Only rows still in ``sending`` are written: a row the
sweeper took back (its lease ran out) is the sweeper's now.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypedDict, Unpack

from django.db import connection
from django.utils import timezone

from notifications.models import Notification, Status
from notifications.receipts import receipts_may_be_waiting, receipts_waiting_apply

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
    if sids and receipts_may_be_waiting():
        receipts_waiting_apply(provider_message_ids=sids)
    return written
