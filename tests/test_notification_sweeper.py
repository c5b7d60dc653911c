from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification, Status
from notifications.services import notifications_sweep
from tests.conftest import broker_unreachable
from tests.factories import declare_incident
from tests.test_notification_sending import affected_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_broker():
    with broker_unreachable():
        yield


def test_a_row_stranded_in_sending_goes_back_to_pending_marked_uncertain(providers):
    sms, _email = affected_customer()
    Notification.objects.filter(pk=sms.pk).update(
        status=Status.SENDING, claimed_at=timezone.now() - timedelta(minutes=30)
    )

    result = notifications_sweep()

    sms.refresh_from_db()
    assert result["stranded"] == 1
    assert sms.uncertain is True
    assert sms.status == Status.PENDING
    assert sms.queued_at is not None  # and handed out again in the same sweep


def test_due_rows_never_queued_are_queued_and_recent_ones_are_left_alone(providers):
    sms, email = affected_customer()
    Notification.objects.filter(pk=sms.pk).update(queued_at=None)
    Notification.objects.filter(pk=email.pk).update(queued_at=timezone.now())

    result = notifications_sweep()

    assert result["queued"] == 1
    assert Notification.objects.get(pk=sms.pk).queued_at is not None


def test_rows_held_for_quiet_hours_wait(providers):
    sms, _email = affected_customer()
    Notification.objects.filter(pk=sms.pk).update(queued_at=None, next_attempt_at=timezone.now() + timedelta(hours=5))

    notifications_sweep()

    assert Notification.objects.get(pk=sms.pk).queued_at is None


def test_with_redis_down_an_update_is_still_posted_and_its_messages_wait(
    providers, manager_client, dead_broker, django_capture_on_commit_callbacks, caplog
):
    sms, _email = affected_customer()
    incident_id = sms.incident_id

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = manager_client.post(
            reverse("api-incident-updates", args=[incident_id]),
            {"body_zh": "Redis 停机期间的更新", "sms": True},
            format="json",
        )

    assert response.status_code == 201
    assert callbacks  # the queueing was attempted after commit …
    assert any("broker unreachable" in record.getMessage() for record in caplog.records)  # … and failed softly
    waiting = Notification.objects.filter(event_key=f"incident-update:{response.json()['id']}")
    assert waiting.count() == 2
    assert set(waiting.values_list("status", flat=True)) == {Status.PENDING}
    assert notifications_sweep()["queued"] == 0  # still down: nothing lost, nothing marked queued
    assert waiting.filter(queued_at__isnull=False).count() == 0


def test_declared_incident_without_affected_orders_writes_nothing(providers):
    incident = declare_incident()

    assert not Notification.objects.filter(incident=incident).exists()
