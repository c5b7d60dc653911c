"""Only a database that cannot be reached is an outage (503, retry later); a wrong query
is a server error like any other defect (500, its traceback logged, counted)."""

from __future__ import annotations

import logging
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager

import psycopg
import pytest
from django.db import ProgrammingError, connection
from django.test import Client
from prometheus_client import REGISTRY

from core.database import database_unreachable
from core.logging import RequestIdFilter
from tests.factories import declare_incident

pytestmark = pytest.mark.django_db

INCIDENT_ROUTE = "incidents/<int:incident_id>/"


def _server_errors_counted(route: str) -> float:
    labels = {"method": "GET", "route": route, "status": "5xx"}
    return REGISTRY.get_sample_value("parcel_http_request_duration_seconds_count", labels) or 0.0


@contextmanager
def _silent_server() -> Iterator[int]:
    """A port that accepts the connection and then never says a word, as a hung server."""
    with closing(socket.socket()) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def _postgres_arguments(**overrides: object) -> dict[str, object]:
    database = connection.settings_dict
    return {
        "host": database["HOST"],
        "port": database["PORT"],
        "user": database["USER"],
        "dbname": database["NAME"],
        **overrides,
    }


def _raised(action: Callable[[], object]) -> Exception:
    try:
        action()
    except Exception as error:  # noqa: BLE001 - the error is what the test looks at
        return error
    raise AssertionError("expected the database to refuse")


def _postgres_refused(tmp_path) -> Exception:
    return _raised(lambda: psycopg.connect(**_postgres_arguments(port=1)))


def _postgres_timed_out(tmp_path) -> Exception:
    with _silent_server() as port:
        return _raised(lambda: psycopg.connect(**_postgres_arguments(port=port, connect_timeout=1)))


def _postgres_gone_away(tmp_path) -> Exception:
    with psycopg.connect(**_postgres_arguments(), autocommit=True) as doomed:
        with psycopg.connect(**_postgres_arguments(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [doomed.info.backend_pid])
        return _raised(lambda: doomed.execute("SELECT 1"))


def _postgres_statement_timeout(tmp_path) -> Exception:
    with psycopg.connect(**_postgres_arguments(), autocommit=True) as slow:
        slow.execute("SET statement_timeout = '10ms'")
        return _raised(lambda: slow.execute("SELECT pg_sleep(1)"))


def _postgres_syntax_error(tmp_path) -> Exception:
    with psycopg.connect(**_postgres_arguments(), autocommit=True) as wrong:
        return _raised(lambda: wrong.execute("SELECT percentile_cont(0.5) WITHIN GROUP ORDER BY 1"))


def _sqlite_syntax_error(tmp_path) -> Exception:
    # The error the reports gave on the quick start before they were made portable.
    with closing(sqlite3.connect(":memory:")) as database:
        return _raised(lambda: database.execute("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY 1)"))


def _sqlite_locked(tmp_path) -> Exception:
    path = tmp_path / "locked.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("CREATE TABLE parcel (id INTEGER)")
        holder.execute("BEGIN EXCLUSIVE")
        with closing(sqlite3.connect(path, timeout=0)) as waiting:
            return _raised(lambda: waiting.execute("SELECT * FROM parcel"))


def _sqlite_cannot_open(tmp_path) -> Exception:
    return _raised(lambda: sqlite3.connect(tmp_path / "missing-folder" / "db.sqlite3"))


@pytest.mark.parametrize(
    ("make_error", "unreachable"),
    [
        (_postgres_refused, True),
        (_postgres_timed_out, True),
        (_postgres_gone_away, True),
        (_postgres_statement_timeout, False),
        (_postgres_syntax_error, False),
        (_sqlite_syntax_error, False),
        (_sqlite_locked, True),
        (_sqlite_cannot_open, True),
    ],
)
def test_only_errors_of_reaching_the_database_count_as_unreachable(make_error, unreachable, tmp_path):
    # given a real error from the driver
    error = make_error(tmp_path)

    # then it is told apart by what it says, not by its class alone
    assert database_unreachable(error) is unreachable, repr(error)


def test_a_wrong_query_is_a_server_error_with_its_traceback_not_an_outage(caplog):
    # given a page whose query the database refuses: its table is not there (renamed in this test's transaction)
    incident = declare_incident()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE incidents_incident RENAME TO incidents_incident_elsewhere")
    counted_before = _server_errors_counted(INCIDENT_ROUTE)
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())

    # when the page is asked for
    response = Client(raise_request_exception=False).get(
        f"/incidents/{incident.pk}/", HTTP_X_REQUEST_ID="wrong-query-request"
    )

    # then it is a 500, logged with its traceback and request id, and counted; nobody is told to come back later
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert not [record for record in caplog.records if record.getMessage() == "database unavailable"]
    logged = [record for record in caplog.records if record.name == "django.request" and record.exc_info]
    assert [record.exc_info[0] for record in logged] == [ProgrammingError]
    assert "incidents_incident" in str(logged[0].exc_info[1])
    assert logged[0].request_id == "wrong-query-request"
    assert _server_errors_counted(INCIDENT_ROUTE) == counted_before + 1


@pytest.mark.django_db(transaction=True)
def test_a_database_that_does_not_answer_is_an_outage(caplog):
    # given an incident, then a database server that accepts connections and never answers
    incident = declare_incident()
    settings_dict = connection.settings_dict
    saved = settings_dict["PORT"], dict(settings_dict["OPTIONS"])
    connection.close()
    caplog.set_level(logging.INFO)
    try:
        with _silent_server() as port:
            settings_dict["PORT"] = str(port)
            settings_dict["OPTIONS"]["connect_timeout"] = 1
            counted_before = _server_errors_counted(INCIDENT_ROUTE)

            # when its page is asked for
            response = Client(raise_request_exception=False).get(
                f"/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="en"
            )
    finally:
        connection.close()
        settings_dict["PORT"], settings_dict["OPTIONS"] = saved

    # then the visitor is told to come back, and it is logged as the database being away
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "Temporarily unavailable" in response.content.decode()
    assert [record.levelname for record in caplog.records if record.getMessage() == "database unavailable"] == ["ERROR"]
    assert _server_errors_counted(INCIDENT_ROUTE) == counted_before + 1
