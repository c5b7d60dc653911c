from __future__ import annotations

import pytest
from django.urls import reverse
from twilio.request_validator import RequestValidator

from customers.models import Customer
from notifications.messages import unsubscribe_url
from notifications.models import Notification, Status
from tests.conftest import TWILIO_TEST_TOKEN
from tests.factories import CustomerFactory
from tests.test_notification_sending import affected_customer

pytestmark = pytest.mark.django_db


def signed_post(client, settings, path, data, *, public_base=None):
    url = (public_base or settings.PUBLIC_BASE_URL) + path
    signature = RequestValidator(TWILIO_TEST_TOKEN).compute_signature(url, data)
    return client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def sent_sms(providers):
    from notifications.sending import notification_send

    sms, _email = affected_customer(phone="+447700900140")
    notification_send(notification_id=sms.pk)
    sms.refresh_from_db()
    return sms


def test_status_callback_moves_the_message_forward(client, settings, sent_sms):
    path = reverse("twilio-status")

    response = signed_post(
        client, settings, path, {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "delivered"}
    )

    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.provider_status) == (Status.DELIVERED, "delivered")
    assert sent_sms.delivered_at is not None


def test_a_late_callback_never_moves_a_status_backwards_and_repeats_change_nothing(client, settings, sent_sms):
    path = reverse("twilio-status")
    for status in ("delivered", "sent", "queued", "delivered", "failed"):
        signed_post(client, settings, path, {"MessageSid": sent_sms.provider_message_id, "MessageStatus": status})

    sent_sms.refresh_from_db()
    assert sent_sms.status == Status.DELIVERED


def test_undelivered_with_its_error_code(client, settings, sent_sms):
    signed_post(
        client,
        settings,
        reverse("twilio-status"),
        {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )

    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.last_error) == (Status.UNDELIVERED, "provider error 30003")


def test_a_bad_signature_is_refused_and_changes_nothing(client, sent_sms):
    response = client.post(
        reverse("twilio-status"),
        {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "failed"},
        HTTP_X_TWILIO_SIGNATURE="forged",
    )

    assert response.status_code == 403
    assert Notification.objects.get(pk=sent_sms.pk).status == Status.SENT


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(client, settings, sent_sms):
    settings.PUBLIC_BASE_URL = "https://status.example.com"

    response = signed_post(
        client,
        settings,
        reverse("twilio-status"),
        {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "delivered"},
    )

    assert response.status_code == 204


def test_stop_opts_out_and_suppresses_waiting_sms_start_opts_back_in(client, settings, providers):
    sms, _email = affected_customer(phone="+447700900141")
    path = reverse("twilio-inbound")

    stop = signed_post(client, settings, path, {"From": "+447700900141", "Body": " stop "})

    assert stop.status_code == 200
    assert b"<Response>" in stop.content
    assert Customer.objects.get(pk=sms.customer_id).sms_consent is False
    assert Notification.objects.get(pk=sms.pk).status == Status.SUPPRESSED

    signed_post(client, settings, path, {"From": "+447700900141", "Body": "START"})
    assert Customer.objects.get(pk=sms.customer_id).sms_consent is True


def test_other_replies_change_nothing(client, settings, providers):
    customer = CustomerFactory(phone="+447700900142")

    signed_post(client, settings, reverse("twilio-inbound"), {"From": "+447700900142", "Body": "我的包裹在哪里"})

    assert Customer.objects.get(pk=customer.pk).sms_consent is True


def test_unsubscribe_link_asks_then_unsubscribes_without_login(client):
    customer = CustomerFactory()
    path = unsubscribe_url(customer.pk, "email").split("://", 1)[1].split("/", 1)[1]

    page = client.get("/" + path, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Stop parcel notices?" in page.content.decode()
    assert Customer.objects.get(pk=customer.pk).email_consent is True

    client.post("/" + path)

    customer.refresh_from_db()
    assert (customer.email_consent, customer.sms_consent) == (False, True)
    assert customer.consent_updated_at is not None


def test_a_tampered_unsubscribe_link_is_refused(client):
    customer = CustomerFactory()
    path = unsubscribe_url(customer.pk, "email").split("/unsubscribe/", 1)[1]

    response = client.post("/unsubscribe/" + path.replace("e", "f", 1))

    assert response.status_code == 400
    assert Customer.objects.get(pk=customer.pk).email_consent is True
