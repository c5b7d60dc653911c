"""Telling a database that cannot be reached from a query that is wrong.

Both raise Django's ``OperationalError`` (SQLite reports a syntax error as one), but
only the first is an outage — a 503 that asks the client to come back. A wrong
query is a defect: a 500 with its traceback, counted like any other.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import django.db
import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

logger = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs that mean the server is not there for us: class 08 (connection
# exception) and these. A cancelled statement (57014, statement_timeout) is not one:
# the server answered, the query was too slow.
_UNREACHABLE_CLASS = "08"
_UNREACHABLE_STATES = {
    "57P01",  # admin_shutdown: the server is stopping, or our backend was terminated
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: starting up or in recovery
    "53300",  # too_many_connections
}
# SQLite primary result codes that mean the file cannot be used now, not that the SQL is wrong.
_SQLITE_UNREACHABLE_CODES = {
    sqlite3.SQLITE_BUSY,  # another process holds the lock past the busy timeout
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
}


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error`` (Django's wrapper or the driver's own) says the database
    cannot be reached: connection refused, timed out or lost, server shutting down."""
    # Django raises its own classes with the driver's error as the cause.
    driver_error = error.__cause__ if isinstance(error, django.db.Error) else error
    if isinstance(driver_error, psycopg.Error):
        if driver_error.sqlstate is None:
            # Raised by the client, not by a server that answered: the connection
            # was refused, timed out or is gone.
            return isinstance(driver_error, psycopg.OperationalError | psycopg.InterfaceError)
        return driver_error.sqlstate.startswith(_UNREACHABLE_CLASS) or driver_error.sqlstate in _UNREACHABLE_STATES
    if isinstance(driver_error, sqlite3.Error):
        return getattr(driver_error, "sqlite_errorcode", 0) & 0xFF in _SQLITE_UNREACHABLE_CODES
    return False


class _PreparedExecute:
    """A psycopg server-binding cursor whose ``execute`` asks for a prepared statement;
    everything else is the cursor's own."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[object] | None = None) -> psycopg.Cursor[Any]:
        return self._cursor.execute(sql, params, prepare=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


def prepared_rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of a query a crowd runs, which PostgreSQL plans once per connection.

    Django's cursors bind parameters on the client and send each query whole, so the
    server plans it every time — for the parcel lookup's join and two ``EXISTS``
    checks that is 0.25 ms of planning for 0.03 ms of execution. This binds on the
    server and keeps the statement prepared on the connection (``prepare_threshold``
    in ``DATABASES``, which Django leaves off, allows it; ``DATABASE_PREPARED_STATEMENTS=false``
    turns it off for a pooler that cannot keep them, such as PgBouncer before 1.21 in
    transaction mode). The cursor is in Django's wrapper: errors are Django's, and the query
    is counted and logged like any other. Elsewhere (SQLite) it is an ordinary query, its
    times made aware as the ORM would (SQLite's driver hands a cursor the stored UTC time
    without its zone).

    Two failures of a connection kept from an earlier request are met by replacing it and
    running the query once more, outside a transaction (inside one, the error stands):

    - A statement prepared before a migration changed the type of a column it reads is
      refused by PostgreSQL ("cached plan must not change result type") for as long as
      the connection lives.
    - The server dropped the connection (it restarted, or an administrator ended the
      backend). This is what ``CONN_HEALTH_CHECKS`` pings the server for before a
      request's first query; here the query itself finds out, which saves the ping's
      round trip (a third of the lookup's database work) on every request.
    """
    # The connection itself, not django.db.connection: each attribute read through that proxy
    # looks the connection up again in a context-local (111 -> 100 us of CPU for the lookup's query).
    database = connections[DEFAULT_DB_ALIAS]
    kept = database.connection is not None
    try:
        return _prepared_fetch(database, sql, params)
    except django.db.NotSupportedError:
        if not _may_ask_again(database):
            raise
        logger.warning("prepared statement outdated by a schema change: new connection")
    except (django.db.OperationalError, django.db.InterfaceError) as error:
        if not (kept and _may_ask_again(database) and _dropped(database)):
            raise
        logger.warning("database connection dropped by the server: new connection", extra={"error": str(error)[:200]})
    database.close()
    return _prepared_fetch(database, sql, params)


def _may_ask_again(database: BaseDatabaseWrapper) -> bool:
    """Outside any transaction (``atomic`` or autocommit turned off by hand): a new connection
    would quietly leave the caller's transaction behind."""
    return not database.in_atomic_block and database.autocommit


def _dropped(database: BaseDatabaseWrapper) -> bool:
    """Whether the PostgreSQL connection a query just failed on is gone (not a query the server
    refused). SQLite has no connection to lose: its errors stand."""
    if database.vendor != "postgresql":
        return False
    return database.connection is None or bool(database.connection.closed)


def _prepared_fetch(database: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with _prepared_cursor(database) as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    if database.vendor == "postgresql":
        # The server just answered on this connection: the request's later queries need no ping either.
        database.health_check_done = True  # type: ignore[attr-defined]  # Django's own flag; django-stubs lack it
        return rows
    return [tuple(_aware(value) for value in row) for row in rows]


def _aware(value: object) -> object:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def _prepared_cursor(database: BaseDatabaseWrapper) -> CursorWrapper:
    if database.vendor != "postgresql":
        return database.cursor()
    # What connection.cursor() does before it makes its cursor, but the health check
    # (prepared_rows says why).
    database.ensure_connection()
    database.validate_thread_sharing()
    with database.wrap_database_errors:
        # psycopg's plain cursor binds on the server (Django's own binds on the client);
        # the cast because django-stubs type make_cursor's argument as Django's wrapper.
        cursor = cast(CursorWrapper, _PreparedExecute(psycopg.Cursor(database.connection)))
    return database.make_debug_cursor(cursor) if database.queries_logged else database.make_cursor(cursor)
