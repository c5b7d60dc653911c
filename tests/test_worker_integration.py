"""The beat task runs on a real worker through Redis and turns /healthz green."""

from __future__ import annotations

import time

import pytest

from core.models import WorkerHeartbeat
from core.tasks import record_worker_heartbeat


@pytest.mark.django_db(transaction=True)
def test_heartbeat_task_runs_on_a_real_worker_and_health_turns_green(celery_worker, client):
    # given no heartbeat (the worker's own one at start-up is cleared)
    WorkerHeartbeat.objects.all().delete()
    assert client.get("/healthz").status_code == 503

    record_worker_heartbeat.delay()

    deadline = time.monotonic() + 20
    while not WorkerHeartbeat.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    heartbeat = WorkerHeartbeat.objects.get()
    assert heartbeat.worker.startswith("celery@")
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_large_link_runs_as_a_job_on_the_worker_and_reports_progress(celery_worker, settings):
    from core import roles
    from incidents.criteria import LinkCriteria
    from incidents.linking import link_job_start
    from incidents.models import AffectedOrder, LinkJob
    from tests.factories import OrderFactory, UserFactory, declare_incident

    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    OrderFactory.create_batch(5, hub="武汉转运中心")

    job = link_job_start(incident=incident, criteria=LinkCriteria(hubs=["武汉转运中心"]), actor=manager)

    deadline = time.monotonic() + 20
    while LinkJob.objects.get(pk=job.pk).state != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
    job.refresh_from_db()
    assert (job.state, job.linked, job.progress_percent) == ("done", 5, 100)
    assert AffectedOrder.objects.filter(incident=incident).count() == 5


def _wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    return condition()


@pytest.mark.django_db(transaction=True)
def test_an_update_reaches_every_affected_customer_by_sms_and_email_through_the_worker(celery_worker, providers):
    from core import roles
    from incidents.criteria import LinkCriteria
    from incidents.linking import incident_link_orders
    from incidents.services import incident_post_update
    from notifications.models import Notification
    from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident

    twilio, smtp = providers
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager, category_code="logistics")
    customers = [CustomerFactory(phone=f"+4477009002{index:02d}", email=f"c{index}@example.com") for index in range(6)]
    for customer in customers:
        OrderFactory.create_batch(2, customer=customer, hub="成都双流转运中心")
    incident_link_orders(
        incident=incident, criteria=LinkCriteria(hubs=["成都双流转运中心"]), actor=manager, notify=False
    )

    update = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="双流机场恢复起降", sms=True)

    rows = Notification.objects.filter(event_key=f"incident-update:{update.pk}")
    assert _wait_for(lambda: rows.filter(status="sent").count() == 12)
    for customer in customers:
        assert len(twilio.sent_to(customer.phone)) == 1  # two parcels, one message
        assert len(smtp.received_by(customer.email)) == 1


@pytest.mark.django_db(transaction=True)
def test_messages_written_while_redis_was_down_go_out_once_it_is_back(celery_worker, providers):
    from core import roles
    from incidents.criteria import LinkCriteria
    from incidents.linking import incident_link_orders
    from notifications.models import Notification
    from notifications.services import notifications_sweep
    from tests.conftest import broker_unreachable
    from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident

    twilio, _smtp = providers
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    customer = CustomerFactory(phone="+447700900299")
    OrderFactory(customer=customer, hub="青岛转运中心")
    with broker_unreachable():
        incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["青岛转运中心"]), actor=manager)
    rows = Notification.objects.filter(incident=incident)
    assert rows.filter(status="pending").count() == 2 and not twilio.sent_to("+447700900299")

    notifications_sweep()

    assert _wait_for(lambda: rows.filter(status="sent").count() == 2)
    assert len(twilio.sent_to("+447700900299")) == 1


@pytest.mark.django_db(transaction=True)
def test_an_approved_compensation_is_issued_by_the_worker_with_progress(celery_worker, providers):
    from compensation.approvals import compensation_request_incident
    from compensation.models import Coupon
    from tests.test_compensation_rules import typhoon_with_parcels

    incident, _parcels, supervisor = typhoon_with_parcels()

    request = compensation_request_incident(incident=incident, actor=supervisor)

    assert _wait_for(lambda: type(request).objects.get(pk=request.pk).status == "issued")
    request.refresh_from_db()
    assert (request.issued, Coupon.objects.filter(incident=incident).count()) == (4, 4)


@pytest.mark.django_db(transaction=True)
def test_public_updates_reach_status_subscribers_through_the_worker_and_internal_ones_never(celery_worker, providers):
    from core import roles
    from incidents.models import Visibility
    from incidents.services import incident_post_update
    from notifications.models import EventType, Notification
    from notifications.subscriptions import subscription_confirm, subscription_request
    from tests.factories import UserFactory, declare_incident

    _twilio, smtp = providers
    subscription = subscription_request(channel="email", address="watcher@example.com", language="en", component_ids=[])
    subscription_confirm(subscription=subscription)
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager, title_en="Sorting line stopped")

    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="内部", visibility=Visibility.INTERNAL)
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="抢修中", body_en="Repairs under way")

    notices = Notification.objects.filter(subscription=subscription, event_type=EventType.STATUS_NOTICE)
    assert _wait_for(lambda: notices.filter(status="sent").count() == 2)  # the declaration and the public update
    bodies = [message.get_body(("plain",)).get_content() for message in smtp.received_by("watcher@example.com")]
    assert any("Repairs under way" in body for body in bodies)
    assert not any("内部" in body for body in bodies)
