"""Every Celery task's delivery policy is deliberate: listed in config/task_policy.py,
applied to the registered task, and consistent with the broker and the outbox lease."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.celery import app
from config.task_policy import TASK_POLICY
from notifications.outcomes import BACKOFF_MAX_SECONDS
from notifications.sending import TASK_BUDGET_SECONDS

CELERY_DEFAULT_RETRY_BACKOFF_MAX = 600


def _registered_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_registered_task_has_a_policy():
    unclassified = sorted(set(_registered_tasks()) - set(TASK_POLICY))
    assert not unclassified, (
        f"Tasks without a delivery policy: {unclassified}. Add each to config/task_policy.py "
        "(acks_late only if running it twice is harmless) and to the README's table."
    )
    assert not set(TASK_POLICY) - set(_registered_tasks()), "config/task_policy.py lists tasks that no longer exist"


@pytest.mark.parametrize("name", sorted(TASK_POLICY))
def test_registered_task_carries_its_policy(name):
    task = _registered_tasks()[name]
    policy = TASK_POLICY[name]
    assert (task.acks_late, task.soft_time_limit, task.time_limit) == (
        policy.acks_late,
        policy.soft_time_limit,
        policy.time_limit,
    )
    assert policy.soft_time_limit < policy.time_limit


def test_sending_finishes_inside_the_outbox_lease():
    # Past the lease the sweeper hands a claimed row to another worker; the hard
    # limit kills a slow send before that can happen.
    assert (
        TASK_POLICY["notifications.tasks.send_notifications"].time_limit < settings.NOTIFICATION_LEASE.total_seconds()
    )
    # A send task stops claiming at its budget, well before the soft limit cuts it off.
    assert TASK_POLICY["notifications.tasks.send_notifications"].soft_time_limit - 30 > TASK_BUDGET_SECONDS


def test_redis_visibility_timeout_outlasts_every_countdown_and_late_ack_task():
    visibility_timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    retry_backoffs = [
        getattr(task, "retry_backoff_max", None) or CELERY_DEFAULT_RETRY_BACKOFF_MAX
        for task in _registered_tasks().values()
        if getattr(task, "autoretry_for", None)
    ]
    longest_late_ack = max(policy.time_limit for policy in TASK_POLICY.values() if policy.acks_late)
    # The outbox's own retry countdown, Celery's autoretry backoff, and a late-ack task
    # still running: Redis would hand any of them to a second worker past the timeout.
    assert visibility_timeout > max(BACKOFF_MAX_SECONDS, *retry_backoffs, longest_late_ack)


def test_broker_speaks_json_only_and_prefetches_one():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.worker_prefetch_multiplier == 1
