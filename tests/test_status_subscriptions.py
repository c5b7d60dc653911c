"""Status notices by email (double opt-in) and SMS (code), through the outbox; STOP and unsubscribe work."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from components.models import ComponentStatus, ServiceComponent
from core import roles
from incidents.messaging import incident_announcements_sweep, update_announce
from incidents.models import IncidentUpdate, Visibility
from incidents.services import incident_post_update
from notifications.models import Channel, EventType, Notification, Status, StatusSubscription
from notifications.receipts import inbound_sms_apply
from notifications.sending import notifications_send
from notifications.subscriptions import (
    CODE_MAX_ATTEMPTS,
    signed_link,
    subscription_code_check,
    subscription_confirm,
    subscription_request,
)
from tests.factories import UserFactory, declare_incident

pytestmark = pytest.mark.django_db
SUBSCRIBE = reverse("status-subscribe")


def _confirmation(subscription: StatusSubscription) -> Notification:
    return subscription.notifications.filter(event_type=EventType.STATUS_CONFIRM).latest("created_at")


def _active(channel=Channel.EMAIL, address="ops@example.com", components=()):
    subscription = subscription_request(channel=channel, address=address, language="en", component_ids=components)
    subscription_confirm(subscription=subscription)
    return subscription


def test_the_sign_up_page_has_a_plain_title_and_loads_its_script_once(client):
    page = client.get(SUBSCRIBE, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert re.search(r"<title>(.*?)</title>", page, re.S).group(1) == "Get status notices · Parcel service"
    assert page.count("portal/subscribe") == 1


def test_email_sign_up_sends_a_link_and_confirms_only_on_post(client):
    response = client.post(SUBSCRIBE, {"channel": "email", "email": "Ops@Example.com"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "o***@example.com" in response.content.decode()
    subscription = StatusSubscription.objects.get()
    assert subscription.address == "ops@example.com"
    assert subscription.language == "en"
    assert not subscription.is_active
    message = _confirmation(subscription)
    assert message.status == Status.PENDING
    assert message.recipient == "ops@example.com"
    link = re.search(r"http\S+/subscribe/confirm/\S+", message.body).group(0)
    path = link.removeprefix("http://127.0.0.1:8000")

    assert client.get(path).status_code == 200  # a mail scanner opening the link confirms nothing
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert client.post(path).status_code == 200
    subscription.refresh_from_db()
    assert subscription.is_active


def test_a_forged_or_wrong_purpose_link_is_refused(client):
    subscription = subscription_request(channel=Channel.EMAIL, address="a@example.com", language="en", component_ids=[])
    cancel_token = signed_link(subscription, "cancel").rsplit("/", 2)[-2]

    assert client.post(reverse("status-subscription-confirm", args=[cancel_token])).status_code == 400
    assert client.post(reverse("status-subscription-confirm", args=["not-a-token"])).status_code == 400
    subscription.refresh_from_db()
    assert not subscription.is_active


def test_sms_sign_up_is_confirmed_by_the_code(client):
    response = client.post(SUBSCRIBE, {"channel": "sms", "phone": "138 0013 8000"})

    subscription = StatusSubscription.objects.get()
    assert subscription.address == "+8613800138000"
    assert response.status_code == 302
    assert response["Location"] == reverse("status-subscription-code", args=[subscription.token])
    code = re.search(r"\d{6}", _confirmation(subscription).body).group(0)
    wrong = "000000" if code != "000000" else "111111"

    page = client.post(response["Location"], {"code": wrong}, HTTP_ACCEPT_LANGUAGE="en")
    assert "not right" in page.content.decode()
    page = client.post(response["Location"], {"code": code}, HTTP_ACCEPT_LANGUAGE="en")
    assert "You are subscribed" in page.content.decode()
    subscription.refresh_from_db()
    assert subscription.is_active


def test_the_code_stops_working_after_five_wrong_tries():
    subscription = subscription_request(channel=Channel.SMS, address="+8613800138000", language="en", component_ids=[])
    code = re.search(r"\d{6}", _confirmation(subscription).body).group(0)
    wrong = "000000" if code != "000000" else "111111"

    assert [subscription_code_check(subscription=subscription, code=wrong) for _ in range(CODE_MAX_ATTEMPTS)] == [
        False
    ] * CODE_MAX_ATTEMPTS
    assert subscription_code_check(subscription=subscription, code=code) is False
    subscription.refresh_from_db()
    assert not subscription.is_active


def test_bad_input_gets_clear_errors_and_writes_nothing(client):
    email = client.post(SUBSCRIBE, {"channel": "email", "email": ""}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    phone = client.post(SUBSCRIBE, {"channel": "sms", "phone": "12"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Enter the email address" in email
    assert "Enter a mobile number" in phone
    assert not StatusSubscription.objects.exists()


def test_sign_ups_are_rate_limited_per_address(client):
    for _ in range(3):
        assert client.post(SUBSCRIBE, {"channel": "email", "email": "x@example.com"}).status_code == 200

    assert client.post(SUBSCRIBE, {"channel": "email", "email": "x@example.com"}).status_code == 429
    assert Notification.objects.filter(event_type=EventType.STATUS_CONFIRM).count() == 3


def test_an_active_address_is_neither_changed_nor_messaged_by_a_new_sign_up(client):
    subscription = _active()
    component = ServiceComponent.objects.create(name_zh="运单查询")

    client.post(SUBSCRIBE, {"channel": "email", "email": "ops@example.com", "components": [component.pk]})

    assert list(subscription.components.all()) == []
    assert subscription.notifications.count() == 1  # the first confirmation only


def test_notices_go_once_to_active_subscribers_of_the_components():
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    hub = ServiceComponent.objects.create(name_zh="广州白云转运中心")
    other = ServiceComponent.objects.create(name_zh="运单查询")
    everything = _active(address="all@example.com")
    hub_watcher = _active(channel=Channel.SMS, address="+8613800138000", components=[hub.pk])
    _active(address="other@example.com", components=[other.pk])
    subscription_request(channel=Channel.EMAIL, address="pending@example.com", language="en", component_ids=[])
    incident = declare_incident(
        actor=manager, title_en="Hub stopped", component_impacts={hub.pk: ComponentStatus.MAJOR_OUTAGE}
    )
    update = incident_post_update(
        incident_id=incident.pk, actor=manager, body_zh="改由深圳中转", body_en="Parcels go through Shenzhen"
    )

    written = update_announce(update_id=update.pk)["subscribers"]
    again = update_announce(update_id=update.pk)["subscribers"]

    notices = Notification.objects.filter(event_type=EventType.STATUS_NOTICE, incident_update=update)
    assert written == 2
    assert again == 0
    assert {n.subscription_id for n in notices} == {everything.pk, hub_watcher.pk}
    email = notices.get(channel=Channel.EMAIL)
    assert "Hub stopped" in email.subject
    assert "Parcels go through Shenzhen" in email.body


def test_internal_updates_send_no_notice():
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    _active()
    incident = declare_incident(actor=manager)
    update = incident_post_update(
        incident_id=incident.pk, actor=manager, body_zh="内部", visibility=Visibility.INTERNAL
    )

    assert update_announce(update_id=update.pk)["subscribers"] == 0


def test_stop_ends_sms_notices_and_suppresses_what_waits():
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    subscription = _active(channel=Channel.SMS, address="+8613800138000")
    incident = declare_incident(actor=manager)
    update = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="进展")
    update_announce(update_id=update.pk)

    assert inbound_sms_apply(from_number="+8613800138000", body="TD") == "opted_out"

    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None
    notice = subscription.notifications.get(event_type=EventType.STATUS_NOTICE)
    assert notice.status == Status.SUPPRESSED


def test_email_notice_is_sent_with_a_one_click_unsubscribe_that_works(client, providers):
    _twilio, smtp = providers
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    subscription = _active(address="ops@example.com")
    incident = declare_incident(actor=manager, title_en="Hub stopped")
    update = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="抢修中", body_en="Repairing")
    update_announce(update_id=update.pk)
    notice = subscription.notifications.get(event_type=EventType.STATUS_NOTICE)

    assert notifications_send(ids=[notice.pk]) == {notice.pk: "sent"}

    message = smtp.messages[-1]
    unsubscribe = re.search(r"<(http[^>]+)>", message["List-Unsubscribe"]).group(1)
    assert "/subscribe/cancel/" in unsubscribe
    response = client.post(unsubscribe.removeprefix("http://127.0.0.1:8000"), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None


def test_subscribers_are_never_counted_as_customers():
    _active()
    notification = Notification.objects.get()

    assert notification.customer_id is None
    assert notification.subscription_id is not None


def test_a_public_update_whose_announcement_was_lost_is_announced_by_the_sweep(settings):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    subscription = _active()
    incident = declare_incident(actor=manager)
    update = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="进展")
    IncidentUpdate.objects.filter(incident=incident).update(
        created_at=update.created_at - settings.NOTIFICATION_LEASE * 2
    )

    lost = incident_announcements_sweep()  # the declaration's row and this update: their tasks never ran
    for row in IncidentUpdate.objects.filter(incident=incident):
        update_announce(update_id=row.pk)

    assert lost == 2
    assert subscription.notifications.filter(event_type=EventType.STATUS_NOTICE, incident_update=update).count() == 1
    assert incident_announcements_sweep() == 0


def test_admin_lists_subscriptions_and_their_messages(admin_client):
    subscription = _active(address="ops@example.com")

    subscriptions = admin_client.get(reverse("admin:notifications_statussubscription_changelist") + "?state=active")
    messages = admin_client.get(reverse("admin:notifications_notification_changelist"))
    detail = admin_client.get(reverse("admin:notifications_statussubscription_change", args=[subscription.pk]))

    assert subscriptions.status_code == messages.status_code == detail.status_code == 200
    assert "o***@example.com" in subscriptions.content.decode()
    assert "ops@example.com" in detail.content.decode()


def test_maintenance_is_announced_when_scheduled_started_and_completed_once_each():
    from datetime import timedelta

    from django.utils import timezone

    from components.messaging import maintenance_announce
    from components.models import Maintenance
    from components.services import maintenance_complete, maintenances_advance

    tracking = ServiceComponent.objects.create(name_zh="运单查询")
    hub = ServiceComponent.objects.create(name_zh="广州白云转运中心")
    watcher = _active(address="tracking@example.com", components=[tracking.pk])
    _active(address="hub@example.com", components=[hub.pk])
    now = timezone.now()
    maintenance = Maintenance.objects.create(
        title_zh="数据库升级",
        title_en="Database upgrade",
        starts_at=now + timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    maintenance.components.add(tracking)
    maintenance_announce(maintenance_id=maintenance.pk)  # the worker, after the commit
    maintenances_advance(now=now + timedelta(minutes=2))  # starts it; the beat announces what a lost task did not
    maintenance.refresh_from_db()
    maintenance_complete(maintenance=maintenance)
    maintenance_announce(maintenance_id=maintenance.pk)
    maintenance_announce(maintenance_id=maintenance.pk)  # again: nothing new

    notices = Notification.objects.filter(event_type=EventType.STATUS_NOTICE).order_by("pk")
    assert [n.event_key for n in notices] == [
        f"maintenance-notice:{maintenance.pk}:scheduled",
        f"maintenance-notice:{maintenance.pk}:in_progress",
        f"maintenance-notice:{maintenance.pk}:completed",
    ]
    assert {n.subscription_id for n in notices} == {watcher.pk}
    assert "Database upgrade" in notices[0].subject


def test_an_address_that_unsubscribed_must_confirm_again_when_someone_signs_it_up(client):
    from notifications.subscriptions import subscription_cancel

    subscription = _active(address="left@example.com")
    subscription_cancel(subscription=subscription)

    client.post(SUBSCRIBE, {"channel": "email", "email": "left@example.com"})

    subscription.refresh_from_db()
    assert subscription.is_active is False
    assert subscription.confirmed_at is None
    assert subscription.notifications.filter(event_type=EventType.STATUS_CONFIRM).count() == 2  # a new confirmation


def test_an_active_number_answers_a_code_exactly_as_a_wrong_code_does(client):
    _active(channel=Channel.SMS, address="+8613800138001")
    stranger = client.post(SUBSCRIBE, {"channel": "sms", "phone": "+8613800138001"})
    fresh = client.post(SUBSCRIBE, {"channel": "sms", "phone": "+8613800138002"})

    answers = [
        client.post(response["Location"], {"code": "123456"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        for response in (stranger, fresh)
    ]

    assert stranger.status_code == fresh.status_code == 302
    assert all("not right" in answer for answer in answers)
    assert StatusSubscription.objects.get(address="+8613800138001").notifications.count() == 1  # told nothing


def test_the_confirmation_limit_expires_so_strangers_cannot_lock_a_number_out(settings):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.subscriptions import MAX_CONFIRMATIONS

    for _ in range(MAX_CONFIRMATIONS + 2):
        subscription_request(channel=Channel.SMS, address="+8613800138003", language="en", component_ids=[])
    subscription = StatusSubscription.objects.get(address="+8613800138003")
    assert subscription.notifications.count() == MAX_CONFIRMATIONS

    subscription.notifications.update(created_at=timezone.now() - timedelta(hours=25))
    subscription_request(channel=Channel.SMS, address="+8613800138003", language="en", component_ids=[])

    assert subscription.notifications.count() == MAX_CONFIRMATIONS + 1


def test_sms_codes_go_only_to_the_allowed_countries(client, settings):
    settings.SUBSCRIPTION_SMS_COUNTRIES = ["CN"]

    response = client.post(SUBSCRIBE, {"channel": "sms", "phone": "+447911123456"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "cannot send text messages to that country" in response.content.decode()
    assert not Notification.objects.exists()


def test_an_hourly_budget_caps_the_codes_the_whole_site_sends(client, settings):
    settings.SUBSCRIPTION_SMS_PER_HOUR = 2

    codes = [
        client.post(SUBSCRIBE, {"channel": "sms", "phone": f"+86138001380{index:02d}"}, REMOTE_ADDR=f"10.0.0.{index}")
        for index in range(3)
    ]

    assert [response.status_code for response in codes] == [302, 302, 429]
    assert Notification.objects.filter(event_type=EventType.STATUS_CONFIRM).count() == 2


def test_a_replayed_stop_does_not_undo_a_later_start():
    from customers.models import Customer

    customer = Customer.objects.create(external_id="STOP1", name="王芳", phone="+8613800138004")

    assert inbound_sms_apply(from_number=customer.phone, body="TD", provider_message_id="SMstop") == "opted_out"
    assert inbound_sms_apply(from_number=customer.phone, body="START", provider_message_id="SMstart") == "opted_in"
    assert inbound_sms_apply(from_number=customer.phone, body="TD", provider_message_id="SMstop") is None

    customer.refresh_from_db()
    assert customer.sms_consent is True


def test_subscribers_messages_and_codes_are_hidden_from_staff_who_may_not_see_subscribers(client):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory as Users

    subscription = subscription_request(channel=Channel.SMS, address="+8613800138005", language="en", component_ids=[])
    confirmation = _confirmation(subscription)
    code = re.search(r"\d{6}", confirmation.body).group(0)
    manager = Users(role=roles.INCIDENT_MANAGER, is_staff=True)
    supervisor = Users(role=roles.SUPERVISOR, is_staff=True)
    assert Group.objects.get(name=roles.SUPERVISOR).permissions.filter(codename="view_statussubscription").exists()

    pages = {}
    for user in (manager, supervisor):
        client.force_login(user)
        listing = client.get(reverse("admin:notifications_notification_changelist") + "?q=%2B8613800138005")
        detail = client.get(reverse("admin:notifications_notification_change", args=[confirmation.pk]))
        pages[user.pk] = (listing.content.decode(), detail.status_code, detail.content.decode())

    manager_list, manager_detail_status, _ = pages[manager.pk]
    supervisor_list, supervisor_detail_status, supervisor_detail = pages[supervisor.pk]
    assert f"/{confirmation.pk}/change/" not in manager_list
    assert manager_detail_status in (302, 404)  # not theirs to open
    assert f"/{confirmation.pk}/change/" in supervisor_list
    assert supervisor_detail_status == 200
    assert "+8613800138005" in supervisor_detail
    assert code not in supervisor_detail
