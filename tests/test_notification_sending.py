"""Sending through the real twilio SDK and Django's SMTP backend to local stand-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import roles
from customers.models import Customer
from devtools.fake_twilio import Reply
from incidents.criteria import LinkCriteria
from incidents.linking import incident_link_orders
from notifications.models import Notification, Status
from notifications.sending import notification_send
from tests.concurrency import run_together
from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


def affected_customer(**customer_fields) -> tuple[Notification, Notification]:
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(
        actor=manager, title_zh="广州白云转运中心暂停作业", title_en="Guangzhou hub stopped", category_code="logistics"
    )
    customer = CustomerFactory(**customer_fields)
    order = OrderFactory(customer=customer, hub="广州白云转运中心", tracking_number="SF5550000000001")
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["广州白云转运中心"]), actor=manager)
    assert order.pk
    rows = {row.channel: row for row in Notification.objects.filter(customer=customer)}
    return rows["sms"], rows["email"]


def make_due(notification: Notification) -> None:
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_sms_goes_through_the_sdk_in_the_customers_language(providers):
    twilio, _smtp = providers
    sms, _email = affected_customer(language="en", phone="+447700900123")

    assert notification_send(notification_id=sms.pk) == "sent"

    sms.refresh_from_db()
    assert sms.status == Status.SENT
    assert sms.provider_message_id.startswith("SM")
    [received] = twilio.sent_to("+447700900123")
    assert received["Body"] == sms.body
    assert "SF5550000000001" in sms.body and "Guangzhou hub stopped" in sms.body
    assert received["StatusCallback"].endswith("/webhooks/twilio/status")


def test_chinese_customer_gets_chinese(providers):
    sms, _email = affected_customer(language="zh-hans")

    notification_send(notification_id=sms.pk)

    sms.refresh_from_db()
    assert sms.body.startswith("【快递服务】因“广州白云转运中心暂停作业”")


def test_a_second_send_of_the_same_row_sends_nothing(providers):
    twilio, _smtp = providers
    sms, _email = affected_customer(phone="+447700900124")

    outcomes = [notification_send(notification_id=sms.pk), notification_send(notification_id=sms.pk)]

    assert outcomes == ["sent", "skipped"]
    assert len(twilio.sent_to("+447700900124")) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_one_row_send_it_once(providers):
    twilio, _smtp = providers
    sms, _email = affected_customer(phone="+447700900125")
    outcomes = run_together(lambda _index: notification_send(notification_id=sms.pk), 4)

    assert sorted(outcomes) == ["sent", "skipped", "skipped", "skipped"]
    assert len(twilio.sent_to("+447700900125")) == 1


def test_429_is_retried_with_backoff_then_sent(providers):
    twilio, _smtp = providers
    sms, _email = affected_customer(phone="+447700900126")
    twilio.script("+447700900126", Reply(status=429, code=20429))

    first = notification_send(notification_id=sms.pk)
    sms.refresh_from_db()
    assert (first, sms.status, sms.attempts) == ("retry", Status.PENDING, 1)
    assert sms.next_attempt_at > timezone.now() + timedelta(seconds=10)
    assert "20429" in sms.last_error
    assert notification_send(notification_id=sms.pk) == "skipped"  # not due yet

    make_due(sms)
    assert notification_send(notification_id=sms.pk) == "sent"
    assert len(twilio.sent_to("+447700900126")) == 1


def test_invalid_number_fails_at_once_without_retry(providers):
    twilio, _smtp = providers
    sms, _email = affected_customer(phone="+447700900127")
    twilio.script("+447700900127", Reply(status=400, code=21211))

    assert notification_send(notification_id=sms.pk) == "failed"

    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == (Status.FAILED, 1)
    assert "21211" in sms.last_error


def test_opted_out_number_fails_and_records_the_opt_out(providers):
    twilio, _smtp = providers
    sms, _email = affected_customer(phone="+447700900128")
    twilio.script("+447700900128", Reply(status=400, code=21610))

    notification_send(notification_id=sms.pk)

    assert Notification.objects.get(pk=sms.pk).status == Status.FAILED
    assert Customer.objects.get(pk=sms.customer_id).sms_consent is False


def test_a_timeout_is_retried_and_marked_uncertain(providers, settings):
    twilio, _smtp = providers
    settings.TWILIO_TIMEOUT_SECONDS = 1
    sms, _email = affected_customer(phone="+447700900129")
    twilio.script("+447700900129", Reply(delay=1.6))

    assert notification_send(notification_id=sms.pk) == "retry"

    sms.refresh_from_db()
    assert (sms.status, sms.uncertain) == (Status.PENDING, True)


def test_gives_up_after_the_last_attempt(providers, settings):
    twilio, _smtp = providers
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    sms, _email = affected_customer(phone="+447700900130")
    twilio.script("+447700900130", Reply(status=503, code=20503), Reply(status=503, code=20503))

    notification_send(notification_id=sms.pk)
    make_due(sms)

    assert notification_send(notification_id=sms.pk) == "failed"


def test_email_is_multipart_threaded_and_unsubscribable(providers):
    _twilio, smtp = providers
    _sms, email = affected_customer(email="wang@example.com")

    assert notification_send(notification_id=email.pk) == "sent"

    [message] = smtp.received_by("wang@example.com")

    def header(name):  # long headers are folded onto a continuation line
        return str(message[name]).strip()

    assert header("Subject") == "您的包裹可能延误:广州白云转运中心暂停作业"
    assert header("List-Unsubscribe").startswith("<http")
    assert header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert header("References") == f"<incident-{email.incident_id}@127.0.0.1>"
    assert header("Message-ID") == f"<notification-{email.pk}@127.0.0.1>"
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= kinds


def test_smtp_temporary_refusal_is_retried(providers):
    _twilio, smtp = providers
    _sms, email = affected_customer(email="li@example.com")
    smtp.refuse_next = 1

    assert notification_send(notification_id=email.pk) == "retry"
    make_due(email)
    assert notification_send(notification_id=email.pk) == "sent"
    assert len(smtp.received_by("li@example.com")) == 1


def test_suppressed_rows_are_never_sent(providers):
    twilio, _smtp = providers
    sms, _email = affected_customer(sms_consent=False, phone="+447700900131")

    assert notification_send(notification_id=sms.pk) == "skipped"
    assert twilio.sent_to("+447700900131") == []


def test_without_twilio_configured_sms_is_logged_not_dropped(providers, settings, caplog):
    settings.SMS_ENABLED = False
    sms, _email = affected_customer()

    assert notification_send(notification_id=sms.pk) == "sent"

    assert Notification.objects.get(pk=sms.pk).provider_status == "logged"
    assert any("Twilio is not configured" in record.getMessage() for record in caplog.records)
