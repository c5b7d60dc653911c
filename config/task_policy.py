"""Every Celery task's delivery policy, in one table (applied as Celery task annotations).

Late acknowledgement only for tasks that are safe to run twice *and* long enough
that losing them to a killed worker matters: with late ack a worker that dies
mid-task leaves the message in Redis, which hands it out again after the
visibility timeout. Everything else is acknowledged on receipt: either a beat job
that runs again within a minute, or a send task whose rows the outbox sweeper
re-queues (a send must never be repeated by the broker, only by the sweeper's
lease, which marks the row "uncertain").

Time limits: the soft limit raises inside the task (its transaction rolls back),
the hard one kills the process. ``send_notifications`` must finish inside the
outbox lease (``NOTIFICATION_LEASE``), or the sweeper could hand a row it still
holds to another worker; tests/test_task_policy.py holds both invariants and the
Redis visibility timeout (longer than any countdown and any late-ack task's limit).
"""

from __future__ import annotations

from typing import NamedTuple


class TaskPolicy(NamedTuple):
    acks_late: bool
    soft_time_limit: int
    time_limit: int


TASK_POLICY: dict[str, TaskPolicy] = {
    # Beat jobs: idempotent and re-run by beat, so early ack; short.
    "core.tasks.record_worker_heartbeat": TaskPolicy(acks_late=False, soft_time_limit=20, time_limit=25),
    "incidents.tasks.check_incident_targets": TaskPolicy(acks_late=False, soft_time_limit=100, time_limit=120),
    "components.tasks.advance_maintenances": TaskPolicy(acks_late=False, soft_time_limit=100, time_limit=120),
    "notifications.tasks.sweep_notifications": TaskPolicy(acks_late=False, soft_time_limit=100, time_limit=120),
    "incidents.tasks.sweep_announcements": TaskPolicy(acks_late=False, soft_time_limit=50, time_limit=60),
    "complaints.tasks.sweep_complaint_deadlines": TaskPolicy(acks_late=False, soft_time_limit=100, time_limit=120),
    "compensation.tasks.expire_coupons": TaskPolicy(acks_late=False, soft_time_limit=540, time_limit=600),
    "portal.tasks.rebuild_status_page": TaskPolicy(acks_late=False, soft_time_limit=100, time_limit=120),
    "reports.tasks.remind_follow_up_owners": TaskPolicy(acks_late=False, soft_time_limit=540, time_limit=600),
    # Sends: never redelivered by the broker (see above); the sweeper is the retry.
    "notifications.tasks.send_notifications": TaskPolicy(acks_late=False, soft_time_limit=210, time_limit=240),
    "notifications.tasks.dispatch_event": TaskPolicy(acks_late=False, soft_time_limit=270, time_limit=300),
    # Announcements: idempotent; a lost one is queued again by its sweeper (beat).
    "components.tasks.announce_maintenance": TaskPolicy(acks_late=False, soft_time_limit=270, time_limit=300),
    # Long, idempotent jobs that resume where they stopped: late ack.
    "incidents.tasks.announce_update": TaskPolicy(acks_late=True, soft_time_limit=1740, time_limit=1800),
    "incidents.tasks.run_link_job": TaskPolicy(acks_late=True, soft_time_limit=3540, time_limit=3600),
    "compensation.tasks.issue_compensation": TaskPolicy(acks_late=True, soft_time_limit=3540, time_limit=3600),
}

TASK_ANNOTATIONS: dict[str, dict[str, object]] = {name: policy._asdict() for name, policy in TASK_POLICY.items()}
