from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from core import roles
from incidents.criteria import LinkCriteria
from incidents.linking import incident_link_orders
from incidents.models import Severity, Visibility
from incidents.services import incident_post_update, incident_transition
from notifications.models import Notification, Status
from notifications.quiet_hours import quiet_hours_release
from notifications.sending import notifications_send
from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def manager():
    return UserFactory(role=roles.INCIDENT_MANAGER)


@pytest.fixture
def affected(manager, settings):
    """An incident with four customers' parcels at one hub: one has three parcels,
    one refuses SMS, one has no email."""
    settings.QUIET_HOURS_START = settings.QUIET_HOURS_END = 0
    incident = declare_incident(actor=manager, category_code="logistics")
    many = CustomerFactory(language="en")
    no_sms = CustomerFactory(sms_consent=False)
    no_email = CustomerFactory(email="")
    plain = CustomerFactory()
    OrderFactory.create_batch(3, customer=many, hub="广州白云转运中心")
    for customer in (no_sms, no_email, plain):
        OrderFactory(customer=customer, hub="广州白云转运中心")
    OrderFactory(hub="上海转运中心")  # not affected
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["广州白云转运中心"]), actor=manager)
    return incident, {"many": many, "no_sms": no_sms, "no_email": no_email, "plain": plain}


def rows(event_key):
    return {(row.customer_id, row.channel): row for row in Notification.objects.filter(event_key=event_key)}


def test_linking_tells_each_affected_customer_once_per_channel_and_suppresses_refusals(affected):
    incident, customers = affected

    written = rows(f"incident-affected:{incident.pk}")

    assert len(written) == 8  # four customers × two channels, the one with three parcels once
    assert written[(customers["no_sms"].pk, "sms")].status == Status.SUPPRESSED
    assert written[(customers["no_email"].pk, "email")].status == Status.SUPPRESSED
    assert written[(customers["plain"].pk, "sms")].status == Status.PENDING
    assert written[(customers["plain"].pk, "sms")].recipient == customers["plain"].phone
    assert written[(customers["many"].pk, "email")].language == "en"


def test_linking_again_tells_nobody_twice(affected, manager):
    incident, _customers = affected
    newcomer = OrderFactory(hub="广州白云转运中心")

    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["广州白云转运中心"]), actor=manager)

    written = rows(f"incident-affected:{incident.pk}")
    assert len(written) == 10
    assert {customer_id for customer_id, _ in written} >= {newcomer.customer_id}


def test_public_update_goes_by_email_only_by_default(affected, manager):
    incident, _customers = affected

    update = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="已改由深圳中转")

    assert {channel for _, channel in rows(f"incident-update:{update.pk}")} == {"email"}
    assert len(rows(f"incident-update:{update.pk}")) == 4


def test_new_estimate_and_resolution_go_by_sms_and_email(affected, manager):
    incident, _customers = affected
    from django.utils import timezone

    estimate = incident_post_update(
        incident_id=incident.pk,
        actor=manager,
        body_zh="预计明早恢复",
        estimated_recovery_at=timezone.now() + timedelta(hours=12),
    )
    incident_transition(incident_id=incident.pk, action="resolve", actor=manager)
    resolved = incident.updates.order_by("-id").first()

    assert {channel for _, channel in rows(f"incident-update:{estimate.pk}")} == {"sms", "email"}
    assert {row.event_type for row in rows(f"incident-update:{resolved.pk}").values()} == {"incident_resolved"}
    assert {channel for _, channel in rows(f"incident-update:{resolved.pk}")} == {"sms", "email"}


def test_staff_can_add_sms_to_an_update_or_send_nothing(affected, manager):
    incident, _customers = affected

    with_sms = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="重要", sms=True)
    silent = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="小更正", notify_customers=False)
    internal = incident_post_update(
        incident_id=incident.pk, actor=manager, body_zh="内部", visibility=Visibility.INTERNAL
    )

    assert {channel for _, channel in rows(f"incident-update:{with_sms.pk}")} == {"sms", "email"}
    assert rows(f"incident-update:{silent.pk}") == {}
    assert rows(f"incident-update:{internal.pk}") == {}


def test_rows_are_written_in_the_events_transaction(affected, manager):
    incident, _customers = affected
    before = Notification.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        incident_post_update(incident_id=incident.pk, actor=manager, body_zh="回滚")
        raise RuntimeError("the update fails later in the same transaction")

    assert Notification.objects.count() == before


def test_fan_out_is_set_based(manager, django_assert_max_num_queries, settings):
    incident = declare_incident(actor=manager, category_code="logistics")
    OrderFactory.create_batch(40, hub="西安转运中心")
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["西安转运中心"]), actor=manager, notify=False)

    with django_assert_max_num_queries(12):
        incident_post_update(incident_id=incident.pk, actor=manager, body_zh="更新", sms=True)

    assert Notification.objects.filter(incident=incident).count() == 80


@pytest.mark.parametrize(
    ("local_time", "released_at"),
    [
        ("23:30", "2026-11-23 08:00"),
        ("03:00", "2026-11-22 08:00"),
        ("08:00", "2026-11-22 08:00"),
        ("12:15", "2026-11-22 12:15"),
    ],
)
def test_quiet_hours_hold_sms_until_eight(settings, local_time, released_at):
    settings.QUIET_HOURS_START, settings.QUIET_HOURS_END = 22, 8
    hour, minute = map(int, local_time.split(":"))
    now = datetime(2026, 11, 22, hour, minute, tzinfo=SHANGHAI)

    assert quiet_hours_release(now).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") == released_at


def test_quiet_hours_are_kept_in_the_recipients_own_time_and_critical_incidents_skip_them(manager, providers, settings):
    settings.QUIET_HOURS_START, settings.QUIET_HOURS_END = 22, 8
    shanghai_hour = timezone.localtime(timezone.now(), SHANGHAI).hour
    london_hour = timezone.localtime(timezone.now(), ZoneInfo("Europe/London")).hour
    night_in = {"shanghai": shanghai_hour >= 22 or shanghai_hour < 8, "london": london_hour >= 22 or london_hour < 8}
    sent = {}
    for severity in (Severity.CRITICAL, Severity.MAJOR):
        incident = declare_incident(actor=manager, severity=severity)
        for phone in ("+8613800138001", "+447911123456"):
            OrderFactory(hub=f"hub-{severity}", customer=CustomerFactory(phone=phone, email=""))
        incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=[f"hub-{severity}"]), actor=manager)
        rows = Notification.objects.filter(incident=incident, channel="sms")
        results = notifications_send(ids=list(rows.values_list("pk", flat=True)))
        for row in rows:
            place = "shanghai" if row.recipient.startswith("+86") else "london"
            sent[(severity, place)] = results[row.pk]

    for place, night in night_in.items():
        assert sent[(Severity.CRITICAL, place)] == "sent"
        assert sent[(Severity.MAJOR, place)] == ("deferred" if night else "sent")
    held = Notification.objects.filter(status=Status.PENDING, channel="sms")
    assert all(row.next_attempt_at > timezone.now() and row.attempts == 0 for row in held)


def test_a_large_incidents_update_is_written_by_a_worker_and_the_sweep_never_forgets_it(affected, manager, settings):
    from incidents.messaging import incident_announcements_sweep, update_announce
    from incidents.models import IncidentUpdate

    settings.NOTIFICATION_SYNC_FAN_OUT_LIMIT = 2  # the fixture's incident has six parcels
    incident, _customers = affected

    update = incident_post_update(incident_id=incident.pk, actor=manager, body_zh="大范围更新")

    assert rows(f"incident-update:{update.pk}") == {}
    assert IncidentUpdate.objects.get(pk=update.pk).fanned_out_at is None
    IncidentUpdate.objects.filter(incident=incident).update(created_at=update.created_at - timedelta(minutes=10))
    assert incident_announcements_sweep() == 2  # the declaration and this update: their tasks were lost

    for row in IncidentUpdate.objects.filter(incident=incident):
        update_announce(update_id=row.pk)
    update_announce(update_id=update.pk)  # a duplicate task writes nothing new

    assert len(rows(f"incident-update:{update.pk}")) == 4
    assert IncidentUpdate.objects.get(pk=update.pk).fanned_out_at is not None
    assert incident_announcements_sweep() == 0
