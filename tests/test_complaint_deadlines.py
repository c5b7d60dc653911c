"""The 24-hour rule, with time passed in explicitly."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from complaints.models import Complaint, ComplaintStatus, ReplyDeadline
from complaints.services import (
    ComplaintConflict,
    ComplaintError,
    complaint_assign,
    complaint_customer_message,
    complaint_deadlines_sweep,
    complaint_file,
    complaint_reply,
    complaint_resolve,
)
from core import roles
from devtools.fake_twilio import Reply
from incidents.criteria import LinkCriteria
from incidents.linking import incident_link_orders
from notifications.models import Notification
from tests.concurrency import run_together
from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db
FILED = datetime(2026, 11, 22, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def agent():
    return UserFactory(role=roles.CUSTOMER_SERVICE_AGENT, email="agent@example.com")


@pytest.fixture
def complaint():
    order = OrderFactory()
    return complaint_file(
        customer=order.customer,
        order=order,
        reason="delay",
        description="包裹三天没有动静",
        channel="portal",
        now=FILED,
    )


def test_a_reply_is_due_24_hours_after_filing(complaint):
    assert complaint.reply_due_at == FILED + timedelta(hours=24)
    assert complaint.reference.startswith("TS261122") and len(complaint.reference) == 14
    assert complaint.messages.get().body == "包裹三天没有动静"


def test_the_reply_window_can_differ_by_reason(settings):
    settings.COMPLAINT_REPLY_HOURS_BY_REASON = {"lost": 12}
    order = OrderFactory()

    lost = complaint_file(
        customer=order.customer, order=order, reason="lost", description="丢件", channel="phone", now=FILED
    )

    assert lost.reply_due_at == FILED + timedelta(hours=12)


def test_complaint_about_an_affected_parcel_is_tied_to_the_open_incident():
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    order = OrderFactory(hub="南京转运中心")
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["南京转运中心"]), actor=manager)

    complaint = complaint_file(
        customer=order.customer, order=order, reason="delay", description="延误", channel="portal"
    )

    assert complaint.incident == incident


def test_someone_elses_parcel_is_refused():
    with pytest.raises(ComplaintError):
        complaint_file(
            customer=CustomerFactory(), order=OrderFactory(), reason="delay", description="x", channel="portal"
        )
    assert not Complaint.objects.exists()


def test_a_public_reply_stops_the_clock_and_records_the_first_response(complaint, agent):
    complaint_reply(complaint_id=complaint.pk, actor=agent, body="已为您加急处理", now=FILED + timedelta(hours=3))

    complaint.refresh_from_db()
    deadline = complaint.deadlines.get()
    assert (complaint.reply_due_at, complaint.first_response_at, complaint.status) == (
        None,
        FILED + timedelta(hours=3),
        ComplaintStatus.AWAITING_CUSTOMER,
    )
    assert (deadline.answered_at, deadline.met) == (FILED + timedelta(hours=3), True)
    assert complaint.assignee == agent


def test_an_internal_note_does_not_stop_the_clock(complaint, agent):
    complaint_reply(
        complaint_id=complaint.pk, actor=agent, body="已联系转运中心", internal=True, now=FILED + timedelta(hours=1)
    )

    complaint.refresh_from_db()
    assert complaint.reply_due_at == FILED + timedelta(hours=24)
    assert complaint.first_response_at is None
    assert complaint.deadlines.get().answered_at is None


def test_a_late_reply_is_recorded_as_missed(complaint, agent):
    complaint_reply(complaint_id=complaint.pk, actor=agent, body="抱歉回复晚了", now=FILED + timedelta(hours=25))

    assert complaint.deadlines.get().met is False


def test_the_customer_writing_back_reopens_it_with_a_new_deadline(complaint, agent):
    complaint_reply(complaint_id=complaint.pk, actor=agent, body="正在处理", now=FILED + timedelta(hours=2))

    complaint_customer_message(complaint_id=complaint.pk, body="还是没收到", now=FILED + timedelta(hours=30))

    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.ASSIGNED
    assert complaint.reply_due_at == FILED + timedelta(hours=54)
    assert complaint.deadlines.count() == 2


def test_writing_twice_before_a_reply_keeps_the_first_deadline(complaint):
    complaint_customer_message(complaint_id=complaint.pk, body="补充说明", now=FILED + timedelta(hours=5))

    complaint.refresh_from_db()
    assert complaint.reply_due_at == FILED + timedelta(hours=24)
    assert complaint.deadlines.count() == 1


def test_resolving_needs_the_owed_reply_first(complaint, agent):
    with pytest.raises(ComplaintError, match="reply is still owed"):
        complaint_resolve(complaint_id=complaint.pk, actor=agent)

    complaint_reply(complaint_id=complaint.pk, actor=agent, body="已补发", now=FILED + timedelta(hours=1))
    complaint_resolve(complaint_id=complaint.pk, actor=agent)
    assert Complaint.objects.get(pk=complaint.pk).status == ComplaintStatus.RESOLVED


def test_a_closed_complaint_takes_no_more_messages(complaint, agent):
    complaint_reply(complaint_id=complaint.pk, actor=agent, body="已补发", now=FILED + timedelta(hours=1))
    complaint_resolve(complaint_id=complaint.pk, actor=agent)
    closed = Complaint.objects.get(pk=complaint.pk)
    closed.close()
    closed.save()

    with pytest.raises(ComplaintConflict):
        complaint_customer_message(complaint_id=complaint.pk, body="再问一下")


def test_only_staff_with_the_permission_assign_and_reply(complaint):
    outsider = UserFactory()

    with pytest.raises(PermissionDenied):
        complaint_assign(complaint_id=complaint.pk, assignee=outsider, actor=outsider)
    with pytest.raises(PermissionDenied):
        complaint_reply(complaint_id=complaint.pk, actor=outsider, body="hi")


def test_assigning_moves_a_new_complaint_to_assigned(complaint, agent):
    complaint_assign(complaint_id=complaint.pk, assignee=agent, actor=agent)

    complaint.refresh_from_db()
    assert (complaint.status, complaint.assignee) == (ComplaintStatus.ASSIGNED, agent)


def test_reminder_four_hours_before_then_escalation_at_the_deadline_each_once(
    complaint, agent, django_capture_on_commit_callbacks
):
    UserFactory(role=roles.SUPERVISOR, email="boss@example.com")
    complaint_assign(complaint_id=complaint.pk, assignee=agent, actor=agent)

    with django_capture_on_commit_callbacks() as callbacks:
        assert complaint_deadlines_sweep(now=FILED + timedelta(hours=19)) == {
            "reminded": 0,
            "escalated": 0,
            "undelivered": 0,
        }
        assert complaint_deadlines_sweep(now=FILED + timedelta(hours=20, minutes=1)) == {
            "reminded": 1,
            "escalated": 0,
            "undelivered": 0,
        }
        assert complaint_deadlines_sweep(now=FILED + timedelta(hours=21)) == {
            "reminded": 0,
            "escalated": 0,
            "undelivered": 0,
        }
        assert complaint_deadlines_sweep(now=FILED + timedelta(hours=24)) == {
            "reminded": 0,
            "escalated": 1,
            "undelivered": 0,
        }
        assert complaint_deadlines_sweep(now=FILED + timedelta(hours=30)) == {
            "reminded": 0,
            "escalated": 0,
            "undelivered": 0,
        }

    assert len(callbacks) == 2
    alerts = Notification.objects.filter(event_type="staff_alert").order_by("pk")
    assert [(alert.recipient, alert.event_key.split(":")[1]) for alert in alerts] == [
        ("agent@example.com", "complaint-reminder"),
        ("boss@example.com", "complaint-escalation"),
    ]  # outbox rows, retried like any message until they are sent
    deadline = complaint.deadlines.get()
    assert (deadline.met, deadline.escalated_at) == (False, FILED + timedelta(hours=24))
    assert Complaint.objects.get(pk=complaint.pk).escalated is True


def test_answered_complaints_are_neither_reminded_nor_escalated(complaint, agent):
    complaint_reply(complaint_id=complaint.pk, actor=agent, body="已处理", now=FILED + timedelta(hours=1))

    assert complaint_deadlines_sweep(now=FILED + timedelta(hours=48)) == {
        "reminded": 0,
        "escalated": 0,
        "undelivered": 0,
    }


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_fire_each_reminder_and_escalation_once():
    late, soon = (OrderFactory() for _ in range(2))
    complaint_file(
        customer=late.customer,
        order=late,
        reason="delay",
        description="a",
        channel="portal",
        now=FILED - timedelta(hours=25),
    )
    complaint_file(
        customer=soon.customer,
        order=soon,
        reason="delay",
        description="b",
        channel="portal",
        now=FILED - timedelta(hours=21),
    )
    results = run_together(lambda _index: complaint_deadlines_sweep(now=FILED), 2)

    assert sum(result["escalated"] for result in results) == 1
    assert sum(result["reminded"] for result in results) == 1
    assert ReplyDeadline.objects.filter(escalated_at__isnull=False).count() == 1
    assert ReplyDeadline.objects.filter(reminded_at__isnull=False).count() == 1


def test_a_customer_chasing_an_overdue_complaint_leaves_it_escalated(complaint):
    complaint_deadlines_sweep(now=FILED + timedelta(hours=25))

    complaint_customer_message(complaint_id=complaint.pk, body="还没人回复吗？", now=FILED + timedelta(hours=26))

    assert Complaint.objects.get(pk=complaint.pk).escalated is True


def test_a_reply_that_reached_the_customer_on_no_channel_is_not_a_reply_in_time(complaint, agent, providers):
    from notifications.models import Status
    from tests.outbox import outbox_deliver

    twilio, _smtp = providers
    UserFactory(role=roles.SUPERVISOR, email="boss@example.com")
    customer = complaint.customer
    type(customer).objects.filter(pk=customer.pk).update(email="")  # no email to fall back on
    outbox_deliver()  # the filing's confirmation
    twilio.script(customer.phone, Reply(status=400, code=21211))  # and the number has gone dead
    message = complaint_reply(complaint_id=complaint.pk, actor=agent, body="已为您加急", now=FILED + timedelta(hours=2))
    outbox_deliver()

    result = complaint_deadlines_sweep(now=FILED + timedelta(hours=3))

    deadline = complaint.deadlines.get()
    assert set(
        Notification.objects.filter(event_key=f"complaint-reply:{message.pk}").values_list("status", flat=True)
    ) <= {
        Status.FAILED,
        Status.SUPPRESSED,
    }
    assert result["undelivered"] == 1
    assert (deadline.met, deadline.delivery_checked_at is not None) == (False, True)
    assert Complaint.objects.get(pk=complaint.pk).escalated is True
    assert Notification.objects.filter(
        event_key__startswith="staff:complaint-undelivered", recipient="boss@example.com"
    ).exists()


def test_a_reply_that_reached_the_customer_by_email_still_counts_when_the_sms_failed(complaint, agent, providers):
    from tests.outbox import outbox_deliver

    twilio, _smtp = providers
    outbox_deliver()
    twilio.script(complaint.customer.phone, Reply(status=400, code=21211))
    complaint_reply(complaint_id=complaint.pk, actor=agent, body="已为您加急", now=FILED + timedelta(hours=2))
    outbox_deliver()

    result = complaint_deadlines_sweep(now=FILED + timedelta(hours=3))

    deadline = complaint.deadlines.get()
    assert result["undelivered"] == 0
    assert (deadline.met, deadline.delivery_checked_at is not None) == (True, True)
