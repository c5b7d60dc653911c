"""The sender at scale: many in flight, outcomes in batches, poison messages, consent when sending,
receipts that come early, connections reused; through the real SDK and SMTP to the stand-ins."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import roles
from customers.models import Customer
from customers.services import customer_consent_set
from incidents.criteria import LinkCriteria
from incidents.linking import incident_link_orders
from incidents.services import incident_post_update
from notifications.models import Notification, PendingReceipt, Status
from notifications.outcomes import Outcome, outcomes_write
from notifications.receipts import notification_receipt_apply
from notifications.sending import notifications_claim, notifications_send
from notifications.services import notifications_retry_failed, notifications_sweep
from notifications.transports import EMAIL_PROBE_AFTER_SECONDS, engine
from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


def affected(count: int, *, title_zh: str = "广州白云转运中心暂停作业", **customer_fields):
    """``count`` customers with a parcel in one incident; returns (incident, their SMS rows, their email rows)."""
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager, title_zh=title_zh, category_code="logistics")
    hub = f"hub-{incident.pk}"
    for index in range(count):
        fields = {"phone": f"+86139{incident.pk:04d}{index:04d}", "email": f"c{incident.pk}-{index}@example.com"}
        OrderFactory(customer=CustomerFactory(**{**fields, **customer_fields}), hub=hub)
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=[hub]), actor=manager)
    rows = Notification.objects.filter(incident=incident).order_by("pk")
    return incident, list(rows.filter(channel="sms")), list(rows.filter(channel="email"))


def ids(rows) -> list[int]:
    return [row.pk for row in rows]


def test_many_sends_are_in_flight_at_once_and_never_more_than_the_limit(providers, settings):
    twilio, _smtp = providers
    settings.NOTIFICATION_MAX_IN_FLIGHT = 12
    twilio.latency = 0.2
    _incident, sms, _email = affected(36)

    results = notifications_send(ids=ids(sms))

    assert set(results.values()) == {"sent"}
    assert twilio.most_in_flight == 12  # twelve requests outstanding at the provider at once, not one


def test_outcomes_are_written_in_batches_not_one_update_per_message(providers):
    twilio, _smtp = providers
    twilio.latency = 0.05  # answers arrive together, as they do from a provider far away
    _incident, sms, _email = affected(40)

    with CaptureQueriesContext(connection) as queries:
        results = notifications_send(ids=ids(sms))

    writes = [query["sql"] for query in queries.captured_queries if query["sql"].lstrip().startswith("WITH outcome")]
    assert set(results.values()) == {"sent"}
    assert 1 <= len(writes) <= 40 // 2  # each write carries several outcomes
    assert Notification.objects.filter(pk__in=ids(sms), status=Status.SENT).count() == 40


def test_a_message_that_cannot_be_built_fails_alone_and_the_rest_are_sent(providers):
    _twilio, smtp = providers
    _incident, _sms, email = affected(3)
    poisoned = email[1]
    Customer.objects.filter(pk=poisoned.customer_id).update(email="victim@example.com\nBcc: everyone@example.com")

    results = notifications_send(ids=ids(email))

    assert results[poisoned.pk] == "failed"
    assert [results[row.pk] for row in (email[0], email[2])] == ["sent", "sent"]
    poisoned.refresh_from_db()
    assert poisoned.status == Status.FAILED
    assert poisoned.last_error.startswith("could not send: ValueError: Invalid address")
    assert not Notification.objects.filter(status=Status.SENDING).exists()
    assert len(smtp.messages) == 2


def test_an_incident_title_with_a_line_break_goes_out_on_one_subject_line(providers):
    _twilio, smtp = providers
    _incident, _sms, email = affected(2, title_zh="广州白云转运中心\n暂停作业")

    results = notifications_send(ids=ids(email))

    assert set(results.values()) == {"sent"}
    assert {str(message["Subject"]).strip() for message in smtp.messages} == {
        "您的包裹可能延误:广州白云转运中心 暂停作业"
    }


def test_a_first_notice_with_no_update_text_has_no_run_of_blank_lines(providers):
    _incident, _sms, email = affected(1)

    notifications_send(ids=ids(email))

    body = Notification.objects.get(pk=email[0].pk).body
    assert "\n\n\n" not in body
    assert "可能延误" in body


def test_consent_withdrawn_while_a_message_waits_stops_it_when_it_is_due(providers, settings):
    twilio, _smtp = providers
    _incident, sms, _email = affected(1)
    Notification.objects.filter(pk=sms[0].pk).update(next_attempt_at=timezone.now() + timedelta(hours=6))
    customer = Customer.objects.get(pk=sms[0].customer_id)

    customer_consent_set(customer=customer, sms=False, email=True)  # an agent records it on the phone
    Notification.objects.filter(pk=sms[0].pk).update(next_attempt_at=timezone.now())
    results = notifications_send(ids=ids(sms))

    assert results[sms[0].pk] == "suppressed"
    assert Notification.objects.get(pk=sms[0].pk).status == Status.SUPPRESSED
    assert twilio.sent_to(customer.phone) == []


def test_retrying_a_failed_message_checks_consent_again(providers):
    twilio, _smtp = providers
    _incident, sms, _email = affected(1)
    Notification.objects.filter(pk=sms[0].pk).update(status=Status.FAILED, last_error="twilio 20500")
    customer = Customer.objects.get(pk=sms[0].customer_id)
    customer_consent_set(customer=customer, sms=False, email=True)

    notifications_retry_failed(notifications=Notification.objects.filter(pk=sms[0].pk))
    results = notifications_send(ids=ids(sms))

    assert results[sms[0].pk] == "suppressed"
    assert twilio.sent_to(customer.phone) == []


def test_a_message_goes_to_the_address_on_file_when_it_is_sent(providers):
    twilio, _smtp = providers
    _incident, sms, _email = affected(1)
    Customer.objects.filter(pk=sms[0].customer_id).update(phone="+8613912345678")  # the order system corrected it

    notifications_send(ids=ids(sms))

    assert len(twilio.sent_to("+8613912345678")) == 1
    assert Notification.objects.get(pk=sms[0].pk).recipient == "+8613912345678"


def test_a_receipt_that_comes_before_the_provider_id_is_stored_waits_and_is_applied(providers):
    _incident, sms, _email = affected(1)
    [claimed] = notifications_claim(ids=ids(sms))

    applied = notification_receipt_apply(provider_message_id="SMearly", provider_status="delivered")
    outcomes_write([Outcome.of(claimed, "sent", status=Status.SENT, provider_message_id="SMearly")])

    assert applied is False
    row = Notification.objects.get(pk=claimed.pk)
    assert (row.status, row.provider_status) == (Status.DELIVERED, "delivered")
    assert not PendingReceipt.objects.exists()


def test_a_retried_message_forgets_its_old_id_so_a_late_receipt_cannot_mark_it(providers):
    _incident, sms, _email = affected(1)
    notifications_send(ids=ids(sms))
    first_id = Notification.objects.get(pk=sms[0].pk).provider_message_id
    notification_receipt_apply(provider_message_id=first_id, provider_status="undelivered")

    notifications_retry_failed(notifications=Notification.objects.filter(pk=sms[0].pk))
    late = notification_receipt_apply(provider_message_id=first_id, provider_status="delivered")

    row = Notification.objects.get(pk=sms[0].pk)
    assert late is False
    assert (row.status, row.provider_message_id) == (Status.PENDING, "")


def test_a_row_freed_by_the_lease_after_its_last_attempt_is_given_up(providers, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    _incident, sms, _email = affected(2)
    stale = timezone.now() - settings.NOTIFICATION_LEASE * 2
    Notification.objects.filter(pk=sms[0].pk).update(status=Status.SENDING, attempts=3, claimed_at=stale)
    Notification.objects.filter(pk=sms[1].pk).update(status=Status.SENDING, attempts=1, claimed_at=stale)

    result = notifications_sweep()

    assert (result["given_up"], result["stranded"]) == (1, 1)
    assert Notification.objects.get(pk=sms[0].pk).status == Status.FAILED
    assert Notification.objects.get(pk=sms[1].pk).status == Status.PENDING


def test_one_smtp_connection_per_lane_carries_many_messages(providers, settings):
    _twilio, smtp = providers
    settings.EMAIL_HOST_USER = "lane-test"  # a setting the lanes have not seen: they open afresh
    _incident, _sms, email = affected(12)

    results = notifications_send(ids=ids(email))

    assert set(results.values()) == {"sent"}
    assert smtp.accepted == 12
    assert smtp.connections <= engine().email.size < 12


def test_a_channel_that_runs_dry_asks_the_outbox_again_only_after_a_pause(providers, settings):
    """SMS finish long before email on their lanes; the finished channel looks for more of its
    kind in the whole outbox about once a second, not on every turn of the loop."""
    _twilio, smtp = providers
    settings.EMAIL_HOST_USER = "dry-test"  # connections of its own, as the other lane tests
    _incident, sms, email = affected(24)
    smtp.message_delay = 0.1  # 24 emails on a few lanes: well over a second of sending
    try:
        with CaptureQueriesContext(connection) as queries:
            results = notifications_send(ids=ids(sms) + ids(email), take_more=True)
    finally:
        smtp.message_delay = 0.0

    outbox_claims = [
        query["sql"]
        for query in queries.captured_queries
        if "SKIP LOCKED" in query["sql"] and "\"channel\" = 'sms'" in query["sql"]
    ]
    assert set(results.values()) == {"sent"}
    assert smtp.last_accepted_at - smtp.first_accepted_at > 0.5
    assert 1 <= len(outbox_claims) <= 3


def test_a_connection_the_relay_dropped_while_idle_is_opened_again_before_the_next_message(providers, settings):
    _twilio, smtp = providers
    settings.EMAIL_HOST_USER = "reconnect-test"
    _incident, _sms, email = affected(2)
    assert notifications_send(ids=ids(email[:1])) == {email[0].pk: "sent"}
    smtp.restart()  # the relay restarts: every open connection is gone
    time.sleep(EMAIL_PROBE_AFTER_SECONDS * 2)  # a quiet moment, as between two updates

    opened_before = engine().email.connections_opened
    results = notifications_send(ids=ids(email[1:]))

    assert results == {email[1].pk: "sent"}  # not a failed attempt retried minutes later
    assert engine().email.connections_opened == opened_before + 1
    assert len(smtp.received_by(email[1].recipient)) == 1


def test_a_connection_that_breaks_mid_send_is_a_retry_never_a_loss(providers, settings):
    _twilio, smtp = providers
    settings.EMAIL_HOST_USER = "break-test"
    _incident, _sms, email = affected(1)
    smtp.refuse_next = 1  # the relay answers 451 once: the lane closes its connection

    first = notifications_send(ids=ids(email))
    Notification.objects.filter(pk=email[0].pk).update(next_attempt_at=timezone.now())
    second = notifications_send(ids=ids(email))

    assert (first, second) == ({email[0].pk: "retry"}, {email[0].pk: "sent"})
    assert Notification.objects.get(pk=email[0].pk).status == Status.SENT
    assert len(smtp.received_by(email[0].recipient)) == 1


def test_an_sms_that_says_nothing_new_is_not_sent(providers):
    twilio, _smtp = providers
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident, sms, _email = affected(1)
    notifications_send(ids=ids(sms))  # "your parcel may be late"

    news = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="抢修中", sms=True, email=False)
    notifications_send(ids=[Notification.objects.get(event_key=f"incident-update:{news.pk}", channel="sms").pk])
    same = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="抢修中", sms=True, email=False)
    repeated = Notification.objects.get(event_key=f"incident-update:{same.pk}", channel="sms")
    result = notifications_send(ids=[repeated.pk])

    assert result[repeated.pk] == "suppressed"
    assert "nothing new" in Notification.objects.get(pk=repeated.pk).last_error
    assert len(twilio.sent_to(sms[0].recipient)) == 2


def test_a_new_expected_recovery_reaches_customers_by_sms_with_the_new_time(providers):
    twilio, _smtp = providers
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident, sms, _email = affected(1, language="en")
    notifications_send(ids=ids(sms))
    recovery = timezone.now() + timedelta(hours=30)

    update = incident_post_update(
        incident_id=incident.pk,
        actor=manager,
        body_zh="备用线路已启用",
        body_en="A spare line is running",
        estimated_recovery_at=recovery,
    )
    row = Notification.objects.get(event_key=f"incident-update:{update.pk}", channel="sms")
    notifications_send(ids=[row.pk])

    first, second = (message["Body"] for message in twilio.sent_to(sms[0].recipient))
    assert first != second
    assert f"{timezone.localtime(recovery):%d %b %H:%M}" in second
    assert "A spare line is running" in second


def test_a_long_reply_is_cut_to_fit_the_sms_segments_and_keeps_its_link(settings):
    from notifications.messages import message_render
    from notifications.rendering import sms_size

    settings.SMS_MAX_SEGMENTS = 2
    context = {
        "complaint_reference": "TS1",
        "reply_text": "您的包裹已改由深圳中转。" * 40,
        "link": "https://x.example/c/1/",
    }

    _subject, body = message_render(event_type="complaint_reply", channel="sms", language="zh-hans", context=context)

    assert sms_size(body).segments <= 2
    assert "https://x.example/c/1/" in body
    assert re.search(r"…", body)
