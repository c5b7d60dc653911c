"""Webhooks out (Standard Webhooks, through the outbox) and staff alerts in chat (Apprise),
to a local receiver that verifies our signatures with the standardwebhooks package."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from core import roles
from incidents.criteria import LinkCriteria
from incidents.linking import incident_link_orders, incident_shift_estimates
from incidents.messaging import merchants_affected_announce, merchants_estimates_announce
from incidents.models import IncidentUpdate
from incidents.services import incident_post_update, incident_transition
from notifications.models import ChatDestination, Notification, Status, WebhookEndpoint
from notifications.webhooks import webhook_endpoint_secret_rotate, webhook_secret_new
from orders.models import Merchant
from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident
from tests.outbox import outbox_deliver

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="session")
def receiver_server():
    from devtools.webhook_receiver import WebhookReceiver

    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def receiver(receiver_server, providers):
    receiver_server.reset()
    return receiver_server


def endpoint(receiver, *, events, merchant=None, path="/hooks", **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=f"endpoint {path}",
        url=receiver.url + path,
        merchant=merchant,
        events=list(events),
        secret=webhook_secret_new(),
        **fields,
    )


def deliveries(receiver, path="/hooks") -> list:
    return [request for request in receiver.received if request.path == path]


def deliver_all(rounds: int = 30) -> None:
    """Send what waits, again and again, with retries made due: until nothing waits."""
    for _ in range(rounds):
        outbox_deliver(make_due=True)
        if not Notification.objects.filter(status=Status.PENDING).exists():
            return


def test_our_systems_hear_of_every_incident_change_signed_as_standard_webhooks_say(receiver):
    hook = endpoint(receiver, events=["incident.created", "incident.updated", "incident.resolved"])
    manager = UserFactory(role=roles.INCIDENT_MANAGER)

    incident = declare_incident(actor=manager, title_en="Sorting line stopped")
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="抢修中")
    incident_transition(incident_id=incident.pk, action="resolve", actor=manager)
    deliver_all()

    verifier = Webhook(hook.secret)
    # Several deliveries are in flight at once, so they may arrive in any order: the body's
    # timestamp, when the change happened, puts them back in order.
    events = sorted(
        (verifier.verify(request.body, request.headers) for request in deliveries(receiver)),
        key=lambda event: event["timestamp"],
    )
    assert [event["type"] for event in events] == ["incident.created", "incident.updated", "incident.resolved"]
    assert events[0]["data"]["incident"]["title_en"] == "Sorting line stopped"
    assert len({request.headers["webhook-id"] for request in deliveries(receiver)}) == 3


def test_an_endpoint_gets_only_the_events_it_chose(receiver):
    endpoint(receiver, events=["incident.resolved"])
    manager = UserFactory(role=roles.INCIDENT_MANAGER)

    incident = declare_incident(actor=manager)
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="抢修中")
    deliver_all()

    assert deliveries(receiver) == []


def test_a_merchant_hears_of_its_own_affected_orders_only_in_batches(receiver, settings):
    settings.WEBHOOK_BATCH_ORDERS = 2
    shop, other = (
        Merchant.objects.create(code="SHOP", name="一号店"),
        Merchant.objects.create(code="OTHER", name="二号店"),
    )
    endpoint(receiver, events=["order.affected"], merchant=shop, path="/shop")
    endpoint(receiver, events=["order.affected"], merchant=other, path="/other")
    mine = [OrderFactory(hub="杭州转运中心", merchant=shop) for _ in range(3)]
    theirs = OrderFactory(hub="杭州转运中心", merchant=other)
    OrderFactory(hub="杭州转运中心")  # no merchant
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["杭州转运中心"]), actor=manager)

    merchants_affected_announce(incident_id=incident.pk)  # the worker, after the link commits
    merchants_affected_announce(incident_id=incident.pk)  # again: nothing new to tell
    deliver_all()

    shop_numbers = [
        order["tracking_number"]
        for request in deliveries(receiver, "/shop")
        for order in request.json()["data"]["orders"]
    ]
    other_numbers = [
        order["tracking_number"]
        for request in deliveries(receiver, "/other")
        for order in request.json()["data"]["orders"]
    ]
    assert sorted(shop_numbers) == sorted(order.tracking_number for order in mine)
    assert other_numbers == [theirs.tracking_number]
    assert len(deliveries(receiver, "/shop")) == 2  # three parcels, two a delivery


def test_a_merchant_hears_of_new_estimates_and_of_coupons_for_its_orders(receiver):
    from compensation.services import coupons_tell_customers
    from tests.factories import CouponFactory

    shop = Merchant.objects.create(code="SHOP", name="一号店")
    endpoint(receiver, events=["order.estimate_changed", "coupon.issued"], merchant=shop, path="/shop")
    order = OrderFactory(hub="杭州转运中心", merchant=shop)
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["杭州转运中心"]), actor=manager, notify=False)

    incident_shift_estimates(incident=incident, actor=manager, delta=timedelta(hours=6))
    shift = IncidentUpdate.objects.filter(incident=incident).latest("pk")
    merchants_estimates_announce(incident_id=incident.pk, update_id=shift.pk)
    coupon = CouponFactory(customer=order.customer, order=order, incident=incident)
    coupons_tell_customers(coupons=[type(coupon).objects.get(pk=coupon.pk)])
    deliver_all()

    by_type = {request.json()["type"]: request.json()["data"] for request in deliveries(receiver, "/shop")}
    assert by_type["order.estimate_changed"]["orders"][0]["tracking_number"] == order.tracking_number
    assert by_type["coupon.issued"]["coupons"][0]["tracking_number"] == order.tracking_number


def test_a_receiver_failing_30_percent_of_the_time_still_gets_every_event_once_or_more(receiver):
    hook = endpoint(receiver, events=["incident.updated"])
    receiver.failure_rate = 0.3
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    updates = [
        incident_post_update(incident_id=incident.pk, actor=manager, body_zh=f"进展{index}") for index in range(20)
    ]

    deliver_all()

    received = {request.headers["webhook-id"] for request in deliveries(receiver)}
    expected = {f"msg_{row.pk}" for row in Notification.objects.filter(webhook_endpoint=hook)}
    assert len(expected) == len(updates)
    assert received == expected
    assert not Notification.objects.filter(webhook_endpoint=hook).exclude(status=Status.SENT).exists()


def test_a_rotated_secret_signs_beside_the_old_one_for_the_overlap(receiver):
    hook = endpoint(receiver, events=["incident.updated"])
    old = hook.secret
    new = webhook_endpoint_secret_rotate(endpoint=hook)
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="进展")

    deliver_all()

    [request] = deliveries(receiver)
    assert Webhook(old).verify(request.body, request.headers)["type"] == "incident.updated"
    assert Webhook(new).verify(request.body, request.headers)["type"] == "incident.updated"


def test_an_endpoint_failing_too_long_is_disabled_and_its_owner_told(receiver, settings):
    owner = UserFactory(role=roles.SUPERVISOR, email="owner@example.com")
    hook = endpoint(receiver, events=["incident.updated"], owner=owner)
    receiver.failure_rate = 1.0
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="进展")
    outbox_deliver()
    WebhookEndpoint.objects.filter(pk=hook.pk).update(
        failing_since=timezone.now() - timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS + 1)
    )

    outbox_deliver(make_due=True)

    hook.refresh_from_db()
    assert (hook.is_enabled, bool(hook.disabled_reason)) == (False, True)
    assert Notification.objects.filter(webhook_endpoint=hook, status=Status.SUPPRESSED).count() == 1
    assert Notification.objects.filter(
        event_key__startswith="staff:webhook-disabled", recipient="owner@example.com"
    ).exists()


def test_410_gone_disables_the_endpoint_at_once(receiver):
    hook = endpoint(receiver, events=["incident.updated"])
    receiver.replies.append(410)
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="进展")

    outbox_deliver()

    assert WebhookEndpoint.objects.get(pk=hook.pk).is_enabled is False


def test_redirects_are_not_followed(receiver):
    hook = endpoint(receiver, events=["incident.updated"])
    receiver.replies.append(302)
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="进展")

    outbox_deliver()

    delivery = Notification.objects.get(webhook_endpoint=hook)
    assert delivery.status == Status.FAILED
    assert "redirects are not followed" in delivery.last_error


def test_private_addresses_are_refused_where_they_are_not_allowed(receiver, settings, admin_client):
    hook = endpoint(receiver, events=["incident.updated"])
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="进展")

    outbox_deliver()
    form = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"name": "internal", "url": "https://10.0.0.5/hooks", "events": ["incident.updated"], "is_enabled": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    delivery = Notification.objects.get(webhook_endpoint=hook)
    assert delivery.status == Status.FAILED and "refused" in delivery.last_error
    assert receiver.received == []
    assert "cannot take webhooks" in form.content.decode()
    assert not WebhookEndpoint.objects.filter(name="internal").exists()


def test_a_dead_endpoint_never_holds_up_customers_messages(receiver, providers, settings):
    twilio, _smtp = providers
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    endpoint(receiver, events=["incident.updated"])
    receiver.hang_seconds = 3  # answers after the timeout
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    for index in range(5):
        OrderFactory(customer=CustomerFactory(phone=f"+86139000000{index:02d}"), hub="宁波转运中心")
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["宁波转运中心"]), actor=manager, notify=False)
    update = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="进展", sms=True, email=False)

    results = outbox_deliver()

    sms = Notification.objects.filter(event_key=f"incident-update:{update.pk}")
    assert {results[row.pk] for row in sms} == {"sent"}
    assert {result for row_id, result in results.items() if row_id not in {row.pk for row in sms}} <= {"retry", "sent"}
    assert len(twilio.messages) == 5


def test_staff_alerts_reach_the_teams_chat_through_apprise_and_an_outage_loses_none(receiver):
    from incidents.targets import incident_targets_check

    supervisors = ChatDestination.objects.create(
        name="值班群", apprise_url=receiver.url.replace("http", "json", 1) + "/chat"
    )
    supervisors.roles.add(roles_group(roles.SUPERVISOR))
    ChatDestination.objects.create(name="客服群", apprise_url=receiver.url.replace("http", "json", 1) + "/agents")
    manager = UserFactory(role=roles.INCIDENT_MANAGER, email="commander@example.com")
    incident = declare_incident(actor=manager, commander=manager)
    receiver.replies.append(500)  # the chat is down for a moment

    incident_targets_check(now=incident.response_due_at + timedelta(minutes=1))
    deliver_all()

    [message] = deliveries(receiver, "/chat")
    assert incident.reference in message.json()["title"]
    assert deliveries(receiver, "/agents") == []


def test_the_send_test_button_says_whether_the_chat_took_it(receiver, admin_client):
    chat = ChatDestination.objects.create(name="值班群", apprise_url=receiver.url.replace("http", "json", 1) + "/chat")

    page = admin_client.post(
        reverse("admin:notifications_chatdestination_changelist"),
        {"action": "send_test", "_selected_action": [chat.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert "the test message was taken" in page.content.decode()
    assert len(deliveries(receiver, "/chat")) == 1
    assert ChatDestination.objects.get(pk=chat.pk).last_tested_at is not None


def test_an_endpoints_secret_is_shown_once_when_it_is_made(admin_client, receiver):
    page = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"name": "订单系统", "url": receiver.url + "/hooks", "events": ["incident.created"], "is_enabled": "on"},
    )
    hook = WebhookEndpoint.objects.get(name="订单系统")
    later = admin_client.get(reverse("admin:notifications_webhookendpoint_change", args=[hook.pk]))

    assert hook.secret.startswith("whsec_") and hook.secret in page.content.decode()
    assert hook.secret not in later.content.decode()


def test_a_merchant_endpoint_may_not_take_our_internal_events(admin_client, receiver):
    shop = Merchant.objects.create(code="SHOP", name="一号店")

    admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"name": "一号店", "url": receiver.url + "/shop", "merchant": shop.pk, "events": ["incident.updated"]},
    )

    assert not WebhookEndpoint.objects.exists()


def roles_group(name: str):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name)
