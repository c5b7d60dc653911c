"""Email through a provider's HTTP API (django-anymail's Postmark backend to a local stand-in),
and the provider's tracking webhook turned into receipts: delivered, bounced, complained."""

from __future__ import annotations

import base64

import pytest
from django.urls import reverse

from core import roles
from customers.models import Customer
from incidents.criteria import LinkCriteria
from incidents.linking import incident_link_orders
from notifications.models import Notification, Status
from notifications.sending import notifications_send
from reports.selectors import customer_figures
from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "postmark:webhook-secret"


@pytest.fixture(scope="session")
def postmark_server():
    from devtools.fake_postmark import FakePostmark

    server = FakePostmark().start()
    yield server
    server.stop()


@pytest.fixture
def postmark(settings, postmark_server):
    postmark_server.reset()
    settings.EMAIL_PROVIDER = "postmark"
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "test-server-token",
        "POSTMARK_API_URL": postmark_server.api_url,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    return postmark_server


def _emails(count: int) -> tuple[object, list[Notification]]:
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager, category_code="logistics")
    for index in range(count):
        OrderFactory(customer=CustomerFactory(email=f"p{index}@example.com"), hub="postmark-hub")
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["postmark-hub"]), actor=manager)
    return incident, list(Notification.objects.filter(incident=incident, channel="email").order_by("pk"))


def _post_event(client, payload: dict[str, object], secret: str = WEBHOOK_SECRET):
    authorization = "Basic " + base64.b64encode(secret.encode()).decode()
    return client.post(
        reverse("email-tracking", args=["postmark"]),
        payload,
        content_type="application/json",
        HTTP_AUTHORIZATION=authorization,
    )


def test_email_goes_through_the_providers_api_and_keeps_its_message_id(postmark):
    _incident, emails = _emails(2)

    results = notifications_send(ids=[row.pk for row in emails])

    assert set(results.values()) == {"sent"}
    assert {message["To"] for message in postmark.messages} == {"p0@example.com", "p1@example.com"}
    ids_at_provider = {message["MessageID"] for message in postmark.messages}
    assert (
        set(
            Notification.objects.filter(pk__in=[row.pk for row in emails]).values_list("provider_message_id", flat=True)
        )
        == ids_at_provider
    )


def test_a_provider_refusing_the_recipient_fails_the_message_without_retrying(postmark):
    _incident, emails = _emails(1)
    postmark.refuse_next = 1

    results = notifications_send(ids=[emails[0].pk])

    assert results[emails[0].pk] == "failed"
    assert "refused the recipient" in Notification.objects.get(pk=emails[0].pk).last_error


def test_a_delivery_receipt_marks_the_email_delivered_and_counts_on_the_dashboard(client, postmark):
    incident, emails = _emails(2)
    notifications_send(ids=[row.pk for row in emails])
    first = Notification.objects.get(pk=emails[0].pk)

    response = _post_event(
        client,
        {
            "RecordType": "Delivery",
            "MessageID": first.provider_message_id,
            "Recipient": first.recipient,
            "DeliveredAt": "2026-11-29T12:00:05Z",
            "Details": "250 OK",
        },
    )

    assert response.status_code == 200
    assert Notification.objects.get(pk=first.pk).status == Status.DELIVERED
    figures = customer_figures(incidents=type(incident).objects.filter(pk=incident.pk))
    assert (figures["channels"]["email"]["delivered"], figures["channels"]["email"]["sent"]) == (1, 2)


def test_a_hard_bounce_stops_email_to_the_address_as_stop_does_for_sms(client, postmark):
    incident, emails = _emails(1)
    notifications_send(ids=[emails[0].pk])
    sent = Notification.objects.get(pk=emails[0].pk)

    _post_event(
        client,
        {
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "TypeCode": 1,
            "MessageID": sent.provider_message_id,
            "Email": sent.recipient,
            "BouncedAt": "2026-11-29T12:00:05Z",
            "Description": "The server was unable to deliver your message",
        },
    )
    later = incident_post_update_email(incident)

    assert Notification.objects.get(pk=sent.pk).status == Status.UNDELIVERED
    assert Customer.objects.get(pk=sent.customer_id).email_consent is False
    assert notifications_send(ids=[later.pk])[later.pk] in ("skipped", "suppressed")
    assert len(postmark.messages) == 1


def test_a_spam_complaint_stops_email_too(client, postmark):
    _incident, emails = _emails(1)
    notifications_send(ids=[emails[0].pk])
    sent = Notification.objects.get(pk=emails[0].pk)

    _post_event(
        client,
        {
            "RecordType": "SpamComplaint",
            "Type": "SpamComplaint",
            "TypeCode": 512,
            "MessageID": sent.provider_message_id,
            "Email": sent.recipient,
            "BouncedAt": "2026-11-29T12:00:05Z",
        },
    )

    assert Customer.objects.get(pk=sent.customer_id).email_consent is False


def test_a_tracking_call_without_the_secret_changes_nothing(client, postmark):
    _incident, emails = _emails(1)
    notifications_send(ids=[emails[0].pk])
    sent = Notification.objects.get(pk=emails[0].pk)

    response = _post_event(
        client,
        {"RecordType": "Bounce", "Type": "HardBounce", "MessageID": sent.provider_message_id, "Email": sent.recipient},
        secret="postmark:wrong",
    )

    assert response.status_code == 400
    assert Customer.objects.get(pk=sent.customer_id).email_consent is True


def test_only_the_configured_provider_has_a_tracking_url(client, postmark):
    assert (
        client.post(reverse("email-tracking", args=["sendgrid"]), [], content_type="application/json").status_code
        == 404
    )


def incident_post_update_email(incident) -> Notification:
    from incidents.services import incident_post_update

    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    update = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="进展")
    return Notification.objects.get(event_key=f"incident-update:{update.pk}", channel="email")
