"""Follow-up items from post-incident reviews: owners are reminded once a day until done."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied

from core import roles
from reports.models import FollowUp
from reports.services import follow_up_complete, follow_up_reminders_send
from tests.concurrency import run_together
from tests.factories import UserFactory, declare_incident
from tests.outbox import outbox_deliver

TODAY = date(2026, 3, 16)


def _item(owner, *, due_in_days: int = 2, title: str = "磁盘容量告警") -> FollowUp:
    return FollowUp.objects.create(
        incident=declare_incident(notify_customers=False),
        title=title,
        owner=owner,
        due_on=TODAY + timedelta(days=due_in_days),
    )


@pytest.fixture
def owner(db):
    return UserFactory(role=roles.INCIDENT_MANAGER, email="owner@example.com")


def test_owner_is_reminded_once_a_day_until_done(owner, mailoutbox):
    item = _item(owner)

    assert follow_up_reminders_send(today=TODAY) == 1
    assert follow_up_reminders_send(today=TODAY) == 0  # an hour later, same day
    outbox_deliver()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["owner@example.com"]
    assert "磁盘容量告警" in mailoutbox[0].body

    assert follow_up_reminders_send(today=TODAY + timedelta(days=1)) == 1
    follow_up_complete(follow_up_id=item.pk, actor=owner)
    assert follow_up_reminders_send(today=TODAY + timedelta(days=2)) == 0
    outbox_deliver()
    assert len(mailoutbox) == 2


def test_items_due_later_wait_and_overdue_items_keep_coming(owner, mailoutbox):
    _item(owner, due_in_days=10, title="later")
    _item(owner, due_in_days=-5, title="overdue")

    assert follow_up_reminders_send(today=TODAY) == 1
    outbox_deliver()
    assert "overdue" in mailoutbox[0].body
    assert "later" not in mailoutbox[0].body


def test_one_digest_per_owner(owner, mailoutbox):
    other = UserFactory(role=roles.SUPERVISOR, email="other@example.com")
    _item(owner, title="first")
    _item(owner, title="second")
    _item(other, title="third")

    assert follow_up_reminders_send(today=TODAY) == 3
    outbox_deliver()
    assert sorted(message.to[0] for message in mailoutbox) == ["other@example.com", "owner@example.com"]


@pytest.mark.django_db(transaction=True)
def test_two_beats_remind_each_item_once(mailoutbox):
    owner = UserFactory(role=roles.INCIDENT_MANAGER, email="owner@example.com")
    for index in range(5):
        _item(owner, title=f"item {index}")

    reminded = run_together(lambda _index: follow_up_reminders_send(today=TODAY), 2)

    assert sum(reminded) == 5
    outbox_deliver()
    bodies = "".join(message.body for message in mailoutbox)
    assert all(bodies.count(f"item {index}") == 1 for index in range(5))
    assert FollowUp.objects.filter(reminded_on=TODAY).count() == 5


def test_a_failed_email_is_retried_by_the_outbox_until_it_is_sent(owner, providers):
    _twilio, smtp = providers
    _item(owner)
    smtp.refuse_next = 1

    assert follow_up_reminders_send(today=TODAY) == 1
    assert list(outbox_deliver().values()) == ["retry"]
    assert list(outbox_deliver(make_due=True).values()) == ["sent"]
    assert follow_up_reminders_send(today=TODAY) == 0  # claimed for the day: the outbox owns the retry
    assert len(smtp.received_by("owner@example.com")) == 1


def test_only_the_owner_or_a_manager_marks_an_item_done(owner):
    item = _item(owner)
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)

    with pytest.raises(PermissionDenied):
        follow_up_complete(follow_up_id=item.pk, actor=agent)
    assert follow_up_complete(follow_up_id=item.pk, actor=owner) is True
    assert follow_up_complete(follow_up_id=item.pk, actor=owner) is False  # done already


def test_beat_runs_the_reminders():
    assert settings.CELERY_BEAT_SCHEDULE["follow-up-reminders"]["task"] == "reports.tasks.remind_follow_up_owners"
