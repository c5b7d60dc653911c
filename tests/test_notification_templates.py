from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core import roles
from notifications.models import Notification, NotificationTemplate, Status
from notifications.rendering import render, sms_size, template_placeholders
from tests.factories import UserFactory
from tests.test_notification_sending import affected_customer


@pytest.mark.parametrize(
    "text",
    ["{customer.__class__}", "{0}", "{tracking_number!r}", "{tracking_number:>99}", "{secret_key}", "unbalanced {"],
)
def test_only_named_placeholders_are_allowed(text):
    with pytest.raises(ValidationError):
        template_placeholders(text)


def test_render_fills_known_placeholders_and_leaves_literal_braces():
    assert render("包裹{tracking_number}{{备注}}", {"tracking_number": "SF1"}) == "包裹SF1{备注}"


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("€" * 80, "GSM-7", 160, 1),
        ("包" * 70, "UCS-2", 70, 1),
        ("包" * 71, "UCS-2", 71, 2),
        ("包" * 134, "UCS-2", 134, 2),
        ("包" * 135, "UCS-2", 135, 3),
        ("Parcel 包裹", "UCS-2", 9, 1),
    ],
)
def test_sms_size_counts_segments_as_carriers_bill_them(text, encoding, characters, segments):
    size = sms_size(text)

    assert (size.encoding, size.characters, size.segments) == (encoding, characters, segments)


@pytest.mark.django_db
def test_every_default_template_renders_and_fits_its_channel():
    for template in NotificationTemplate.objects.all():
        body = render(template.body, {})
        if template.channel == "sms":
            assert (
                sms_size(
                    render(template.body, {"incident_title": "某事件", "tracking_number": "SF1234567890123"})
                ).segments
                <= 3
            ), template
        else:
            assert template.subject, template
        assert body


@pytest.mark.django_db
def test_supervisor_edits_a_template_with_preview_and_a_bad_placeholder_is_refused(client):
    client.force_login(UserFactory(role=roles.SUPERVISOR))
    template = NotificationTemplate.objects.get(event_type="incident_update", channel="sms", language="zh-hans")
    url = reverse("admin:notifications_notificationtemplate_change", args=[template.pk])

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "segment(s), UCS-2" in page
    assert "SF1234567890123" in page or "受台风影响" in page

    form = {
        "event_type": template.event_type,
        "channel": template.channel,
        "language": template.language,
        "subject": "",
        "body": "{customer.__init__}",
    }
    refused = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")

    assert refused.status_code == 200
    assert "Unknown placeholder" in refused.content.decode()
    template.refresh_from_db()
    assert "__init__" not in template.body


@pytest.mark.django_db
def test_retry_action_and_delivery_figures(client, providers):
    sms, email = affected_customer()
    Notification.objects.filter(pk=sms.pk).update(status=Status.FAILED, attempts=8, last_error="twilio 30003")
    client.force_login(UserFactory(role=roles.INCIDENT_MANAGER))
    changelist = reverse("admin:notifications_notification_changelist")

    page = client.get(changelist, {"incident__id__exact": sms.incident_id}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Delivery for this incident" in page

    client.post(changelist, {"action": "retry_failed", "_selected_action": [sms.pk, email.pk]})

    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.last_error) == (Status.PENDING, 0, "")


@pytest.mark.django_db
def test_agent_sees_messages_but_cannot_retry(client, providers):
    sms, _email = affected_customer()
    Notification.objects.filter(pk=sms.pk).update(status=Status.FAILED)
    client.force_login(UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))
    changelist = reverse("admin:notifications_notification_changelist")

    assert client.get(changelist).status_code == 200
    client.post(changelist, {"action": "retry_failed", "_selected_action": [sms.pk]})

    assert Notification.objects.get(pk=sms.pk).status == Status.FAILED


@pytest.mark.django_db
def test_customer_page_shows_their_message_history(admin_client, providers):
    sms, _email = affected_customer()

    page = admin_client.get(
        reverse("admin:customers_customer_change", args=[sms.customer_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "Messages sent to this customer" in page
    assert "incident_declared" in page or "Incident declared" in page
