from __future__ import annotations

import os
import time
from datetime import datetime

import psycopg
import pytest
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone

from core import ratelimit, roles
from incidents.criteria import LinkCriteria
from incidents.linking import incident_link_orders
from incidents.models import Visibility
from incidents.services import incident_post_update
from notifications.models import Notification, Status
from portal.selectors import parcel_for_customer
from tests import quickstart
from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident, typhoon_outage
from tests.test_status_page import database_down

pytestmark = pytest.mark.django_db
TRACK = reverse("track")


@pytest.fixture
def delayed_parcel():
    return typhoon_outage(tracking_number="SF6660000000001")


def test_right_digits_show_delay_cause_estimate_and_coupon_but_no_personal_data(client, delayed_parcel):
    _incident, order = delayed_parcel

    page = client.post(
        TRACK, {"tracking_number": "sf6660000000001", "phone_last4": "4321"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()

    assert "广州白云转运中心暂停作业" in page
    assert timezone.localtime(order.incident_links.get().new_estimate).strftime("%Y-%m-%d %H:%M") in page
    assert order.coupons.get().code in page
    assert "王*" in page
    assert "王芳" not in page and "13800134321" not in page and order.customer.email not in page


def test_a_parcel_no_incident_touched_is_looked_up_in_one_query(client, django_assert_num_queries):
    OrderFactory(tracking_number="SF6660000000002", customer=CustomerFactory(phone="+8613800135555"))

    with django_assert_num_queries(1):
        response = client.post(TRACK, {"tracking_number": "SF6660000000002", "phone_last4": "5555"})

    assert "SF6660000000002" in response.content.decode()


def test_the_lookup_is_planned_once_a_connection_not_on_every_request(client):
    OrderFactory(tracking_number="SF6660000000003", customer=CustomerFactory(phone="+8613800136666"))

    for digits in ("6666", "0000"):
        client.post(TRACK, {"tracking_number": "SF6660000000003", "phone_last4": digits})

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%customer_phone%"])
        prepared = cursor.fetchall()
    assert len(prepared) == 1  # one statement, prepared on the first lookup and reused


def _other_connection() -> psycopg.Connection:
    """Another session on the test database, as another process would open it."""
    return psycopg.connect(**connection.get_connection_params())


def _column_type(table: str, column: str, sql_type: str) -> None:
    """A migration run by another process (``deploy/``'s migrate) while this one serves."""
    with _other_connection() as other:
        other.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {sql_type}")


@pytest.mark.django_db(transaction=True)
def test_a_lookup_prepared_before_a_migration_changed_a_column_it_reads_asks_again(caplog):
    OrderFactory(tracking_number="SF6660000000004", customer=CustomerFactory(name="李雷", phone="+8613800137777"))
    assert parcel_for_customer(tracking_number="SF6660000000004", phone_last4="7777") is not None  # prepared

    _column_type("customers_customer", "name", "varchar(120)")
    try:
        parcel = parcel_for_customer(tracking_number="SF6660000000004", phone_last4="7777")
    finally:
        _column_type("customers_customer", "name", "varchar(100)")
        connection.close()  # its statements were prepared against the wider column

    assert parcel is not None and parcel.masked_name == "李*"
    assert "prepared statement outdated by a schema change: new connection" in caplog.messages


@pytest.mark.django_db(transaction=True)
def test_a_lookup_on_a_connection_the_server_dropped_asks_again_on_a_new_one(caplog):
    OrderFactory(tracking_number="SF6660000000006", customer=CustomerFactory(name="李雷", phone="+8613800138888"))
    assert parcel_for_customer(tracking_number="SF6660000000006", phone_last4="8888") is not None
    dropped = connection.connection.info.backend_pid
    with _other_connection() as other:  # PostgreSQL restarting, or an administrator ending the backend
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [dropped])  # returns once it is gone

    parcel = parcel_for_customer(tracking_number="SF6660000000006", phone_last4="8888")

    assert parcel is not None and parcel.masked_name == "李*"
    assert connection.connection.info.backend_pid != dropped
    assert "database connection dropped by the server: new connection" in caplog.messages


@pytest.mark.django_db(transaction=True)
def test_a_lookup_on_a_kept_connection_sends_one_query_and_no_health_check_ping(client, tmp_path):
    OrderFactory(tracking_number="SF6660000000007", customer=CustomerFactory(phone="+8613800139999"))
    client.post(TRACK, {"tracking_number": "SF6660000000007", "phone_last4": "9999"})  # a connection to keep
    close_old_connections()  # what Django does as the next request starts (the test client skips it)
    trace = tmp_path / "libpq.trace"

    with trace.open("w") as file:
        connection.connection.pgconn.trace(file.fileno())  # every message libpq sends and receives
        client.post(TRACK, {"tracking_number": "SF6660000000007", "phone_last4": "9999"})
        connection.connection.pgconn.untrace()

    sent = [line for line in trace.read_text().splitlines() if "\tF\t" in line]  # frontend to server
    assert not [line for line in sent if "SELECT 1" in line]
    assert len([line for line in sent if "\tExecute\t" in line]) == 1  # the lookup's one prepared statement


@pytest.mark.django_db(transaction=True)
def test_with_the_database_down_the_lookup_says_so_with_a_503(client):
    with database_down():
        response = client.post(
            TRACK, {"tracking_number": "SF6660000000005", "phone_last4": "1234"}, HTTP_ACCEPT_LANGUAGE="en"
        )

    assert response.status_code == 503
    assert "Parcel lookup is temporarily unavailable" in response.content.decode()


def test_an_internal_incident_stays_out_of_the_lookup(client, django_assert_num_queries):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager, publish=False, title_zh="数据泄露排查", title_en="Data leak review")
    OrderFactory(
        tracking_number="SF6660000000003", hub="北京转运中心", customer=CustomerFactory(phone="+8613800136666")
    )
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["北京转运中心"]), actor=manager)

    with django_assert_num_queries(1):
        response = client.post(
            TRACK, {"tracking_number": "SF6660000000003", "phone_last4": "6666"}, HTTP_ACCEPT_LANGUAGE="en"
        )

    page = response.content.decode()
    assert "Data leak review" not in page
    assert "No incident affects this parcel." in page


def test_a_delayed_parcel_with_a_coupon_is_looked_up_in_two_queries(client, delayed_parcel, django_assert_num_queries):
    incident, order = delayed_parcel
    sent = Notification.objects.filter(customer=order.customer, incident=incident).update(status=Status.SENT)

    with django_assert_num_queries(2):  # the parcel with its incidents and the messages sent; its coupons
        response = client.post(
            TRACK, {"tracking_number": "SF6660000000001", "phone_last4": "4321"}, HTTP_ACCEPT_LANGUAGE="en"
        )

    page = response.content.decode()
    assert sent >= 2 and f"We sent you {sent} messages about it." in page
    assert f'Your coupon: <span class="reference">{order.coupons.get().code}</span>' in page


@pytest.mark.parametrize("bad", [{"phone_last4": "4320"}, {"tracking_number": "SF6660000000999"}])
def test_a_wrong_digit_and_an_unknown_number_get_the_same_answer(client, delayed_parcel, bad):
    form = {"tracking_number": "SF6660000000001", "phone_last4": "4321", **bad}

    response = client.post(TRACK, form, HTTP_ACCEPT_LANGUAGE="en")

    page = response.content.decode()
    assert response.status_code == 200
    assert "We could not find a parcel with this tracking number and phone number" in page
    assert "广州白云" not in page


def test_lookups_are_rate_limited_per_tracking_number(client, delayed_parcel):
    for _ in range(10):
        client.post(TRACK, {"tracking_number": "SF6660000000001", "phone_last4": "0000"})

    assert client.post(TRACK, {"tracking_number": "SF6660000000001", "phone_last4": "4321"}).status_code == 429


def test_a_refused_owner_is_shown_nothing_of_the_parcel_read_while_the_count_was_asked(client, delayed_parcel):
    for _ in range(10):
        client.post(TRACK, {"tracking_number": "SF6660000000001", "phone_last4": "0000"})

    response = client.post(
        TRACK, {"tracking_number": "SF6660000000001", "phone_last4": "4321"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    page = response.content.decode()
    assert response.status_code == 429 and "Too many attempts" in page
    assert "广州白云" not in page and "Typhoon" not in page and "Your parcel" not in page


def _lookup_request(rf):
    request = rf.post(TRACK)
    request.META["REMOTE_ADDR"] = "192.0.2.7"
    return request


def _count(rf, tracking_number: str):
    return ratelimit.proof_attempt_counting(
        _lookup_request(rf), scope="lookup", tracking_number=tracking_number, per_ip=2, per_parcel=10, window_seconds=60
    )


def _sent_and_counted(rf, tracking_number: str, attempts: int):
    """A count sent, once Redis has counted it (read on another connection)."""
    answer = _count(rf, tracking_number)
    caller = ratelimit._proof_keys("lookup", tracking_number, "192.0.2.7")["caller"]
    for _ in range(100):
        if int(cache.get(caller, 0)) == attempts:
            return answer
        time.sleep(0.01)
    raise AssertionError(f"Redis did not count attempt {attempts}")


def test_a_count_whose_answer_was_never_asked_for_does_not_answer_the_next(rf):
    """The lookup's parcel query failed, say, and the view answered 503 without asking."""
    _sent_and_counted(rf, "SF6660000000101", attempts=1)  # never asked for

    assert _count(rf, "SF6660000000102")() == 0  # the second attempt from this address, let through
    assert _count(rf, "SF6660000000103")() == 60  # the third is over the limit of two: in step, not one behind


def test_an_answer_asked_for_after_another_count_was_sent_lets_the_caller_through_and_says_so(rf, caplog):
    first = _sent_and_counted(rf, "SF6660000000104", attempts=1)
    second = _count(rf, "SF6660000000105")

    assert first() == 0 and "rate limit unavailable" in caplog.messages
    assert second() == 0
    assert _count(rf, "SF6660000000106")() == 60  # all three were counted


def _wrong_digits_counted(client) -> int:
    """A wrong answer for the delayed parcel; how many this parcel has had in the window."""
    client.post(TRACK, {"tracking_number": "SF6660000000001", "phone_last4": "0000"})
    parcel_key = ratelimit._proof_keys("lookup", "SF6660000000001", "127.0.0.1")["parcel"]
    return int(cache.get(parcel_key, 0))


def test_a_redis_that_forgot_the_limits_script_is_sent_it_again(client, delayed_parcel):
    assert _wrong_digits_counted(client) == 1
    cache._cache.get_client().script_flush()  # as after a Redis restart

    assert _wrong_digits_counted(client) == 2


def test_a_redis_connection_dropped_between_lookups_is_opened_again(client, delayed_parcel, caplog):
    assert _wrong_digits_counted(client) == 1
    redis_client = cache._cache.get_client()
    ours = [entry["id"] for entry in redis_client.client_list() if entry["cmd"] in {"evalsha", "eval"}]
    for client_id in ours:
        redis_client.client_kill_filter(_id=client_id)

    assert ours and _wrong_digits_counted(client) == 2
    assert "rate limit unavailable" not in caplog.messages


def test_a_worker_forked_from_a_process_that_counted_opens_its_own_redis_connection(client, delayed_parcel):
    """gunicorn's preload_app forks workers from the master: a socket the master had used must
    not be shared, or each process would read the other's replies."""
    assert _wrong_digits_counted(client) == 1
    inherited = ratelimit._held.connection
    child = os.fork()
    if child == 0:  # the worker: only Redis here, never the parent's database connection
        try:
            ratelimit._count_and_read(["ratelimit:fork-probe"], [], window_seconds=60)
            os._exit(0 if ratelimit._held.connection is not inherited else 3)
        finally:
            os._exit(4)
    _pid, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert _wrong_digits_counted(client) == 2  # and the master's own connection still answers in step


@pytest.fixture
def redis_down_for_limits(settings):
    """The rate limits' Redis at a port nothing listens on (its client is made once per process)."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    ratelimit._redis.cache_clear()
    yield
    ratelimit._redis.cache_clear()


def test_with_redis_down_lookups_are_answered_and_the_gap_is_logged(
    client, delayed_parcel, redis_down_for_limits, caplog
):
    wrong = client.post(TRACK, {"tracking_number": "SF6660000000001", "phone_last4": "0000"}, HTTP_ACCEPT_LANGUAGE="en")
    right = client.post(TRACK, {"tracking_number": "SF6660000000001", "phone_last4": "4321"})

    assert wrong.status_code == 200
    assert "We could not find a parcel" in wrong.content.decode()
    assert right.status_code == 200
    assert "广州白云转运中心暂停作业" in right.content.decode()
    gaps = [record for record in caplog.records if record.getMessage() == "rate limit unavailable"]
    assert len(gaps) == 3  # two checks and one wrong answer not counted
    assert {record.scope for record in gaps} == {"lookup"}


def test_incident_page_shows_public_updates_only(client, delayed_parcel):
    incident, _order = delayed_parcel
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="已改由深圳中转")
    incident_post_update(
        incident_id=incident.pk, actor=manager, body_zh="内部:现场人员名单", visibility=Visibility.INTERNAL
    )

    page = client.get(reverse("incident-page", args=[incident.pk])).content.decode()

    assert "已改由深圳中转" in page
    assert "现场人员名单" not in page
    assert client.get(reverse("incident-page", args=[99999])).status_code == 404


def test_messages_link_to_the_incident_page(delayed_parcel):
    from incidents.messaging import message_contexts
    from notifications.models import Notification

    incident, order = delayed_parcel
    notification = Notification.objects.filter(customer=order.customer, incident=incident).first()

    assert message_contexts([notification])[notification.pk]["link"].endswith(f"/incidents/{incident.pk}/")


def lookup_as_shown() -> dict[str, bool]:
    """The delayed parcel's lookup, checked against its own rows in local time (run here on
    PostgreSQL and by ``tests.quickstart`` on SQLite, whose driver hands back naive times)."""
    from django.test import Client

    incident, order = typhoon_outage(tracking_number="SF6660000000009")
    link = order.incident_links.get()
    page = Client().post(TRACK, {"tracking_number": "SF6660000000009", "phone_last4": "4321"}).content.decode()

    def minute(value: datetime) -> str:  # as Django's own |date:"Y-m-d H:i" writes it
        return date_filter(timezone.localtime(value), "Y-m-d H:i")

    return {
        "title": incident.title_zh in page,
        "promised": f"<dd>{minute(link.original_promise)}</dd>" in page,
        "new estimate": f"<strong>{minute(link.new_estimate)}</strong>" in page,
        "coupon": order.coupons.get().code in page,
        "masked name": "王*" in page,
    }


def test_the_lookup_shows_the_same_local_times_on_the_quick_start_sqlite(quickstart_database, tmp_path):
    on_sqlite = quickstart.run(
        "tests.test_portal_lookup:lookup_as_shown", var_dir=tmp_path, template=quickstart_database
    )

    assert connection.vendor == "postgresql"
    assert lookup_as_shown() == on_sqlite == dict.fromkeys(on_sqlite, True)
    assert len(on_sqlite) == 5
