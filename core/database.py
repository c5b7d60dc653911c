"""Telling a database that cannot be reached from a query that is wrong.

Both raise Django's ``OperationalError`` (SQLite reports a syntax error as one), but
only the first is an outage — a 503 that asks the client to come back. A wrong
query is a defect: a 500 with its traceback, counted like any other.
"""

from __future__ import annotations

import sqlite3

import django.db
import psycopg

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
