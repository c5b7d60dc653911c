"""Every Celery task in one table: what it is for, how it is delivered, when beat runs it.

The task annotations (late ack, time limits), beat's schedule and the README's
table are all derived from ``JOBS``; tests/test_jobs.py fails for a task
missing here and for a README table that no longer says what this does.

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
holds to another worker; the test holds both invariants and the Redis visibility
timeout (longer than any countdown and any late-ack task's limit).

    python -m config.jobs        # prints the README's table
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Job:
    task: str
    why: str
    soft_time_limit: int
    time_limit: int
    acks_late: bool = False
    every: timedelta | None = None  # run by beat this often
    beat_name: str = ""

    @property
    def annotations(self) -> dict[str, object]:
        return {"acks_late": self.acks_late, "soft_time_limit": self.soft_time_limit, "time_limit": self.time_limit}


MINUTE = timedelta(minutes=1)
REBUILT_BY_BEAT = "idempotent; beat runs it again"

JOBS: tuple[Job, ...] = (
    # Beat jobs: idempotent and re-run by beat, so early ack; short.
    Job(
        "core.tasks.record_worker_heartbeat",
        "proves broker, beat and worker run (/healthz)",
        20,
        25,
        every=timedelta(seconds=30),
        beat_name="worker-heartbeat",
    ),
    Job(
        "incidents.tasks.check_incident_targets",
        "raises target alerts once each",
        100,
        120,
        every=MINUTE,
        beat_name="incident-targets",
    ),
    Job(
        "components.tasks.advance_maintenances",
        "starts maintenance windows, moves ended ones to verifying, announces states whose announcement was lost",
        100,
        120,
        every=MINUTE,
        beat_name="maintenance-windows",
    ),
    Job(
        "notifications.tasks.sweep_notifications",
        "re-queues what is due and unqueued, frees stranded rows, applies receipts that waited for their message",
        100,
        120,
        every=MINUTE,
        beat_name="notification-sweeper",
    ),
    Job(
        "incidents.tasks.sweep_announcements",
        "queues again the announcements (customers' fan-out, subscribers' notices) whose task was lost",
        50,
        60,
        every=MINUTE,
        beat_name="incident-announcements",
    ),
    Job(
        "complaints.tasks.sweep_complaint_deadlines",
        "reply reminders and escalations, each once; replies that reached no channel",
        100,
        120,
        every=MINUTE,
        beat_name="complaint-deadlines",
    ),
    Job(
        "compensation.tasks.expire_coupons",
        "issued coupons past their window become expired",
        540,
        600,
        every=timedelta(hours=1),
        beat_name="coupon-expiry",
    ),
    Job(
        "portal.tasks.rebuild_status_page",
        "re-renders the status page, JSON and feed (bulk updates, the day's roll-over)",
        100,
        120,
        every=timedelta(minutes=5),
        beat_name="status-page",
    ),
    Job(
        # Owners of open follow-up items hear once a day; hourly runs catch up after downtime.
        "reports.tasks.remind_follow_up_owners",
        "owners of open follow-up items, once a day per item",
        540,
        600,
        every=timedelta(hours=1),
        beat_name="follow-up-reminders",
    ),
    # Sends: never redelivered by the broker (see above); the sweeper is the retry.
    Job(
        "notifications.tasks.send_notifications",
        "sends a chunk of messages, many in flight; never repeated by the broker, only by the sweeper's "
        "lease (which marks the row uncertain); stops claiming after 150 s and queues the rest, and the hard "
        "limit is below the 300 s lease, so no claimed row outlives its sender",
        210,
        240,
    ),
    Job("notifications.tasks.dispatch_event", "queues an event's messages in chunks; re-run by the sweeper", 270, 300),
    # Announcements: idempotent; a lost one is queued again by its sweeper (beat).
    Job(
        "components.tasks.announce_maintenance",
        "tells status subscribers of a maintenance's state; re-run by the beat's sweep",
        270,
        300,
    ),
    # Long, idempotent jobs that resume where they stopped: late ack.
    Job(
        "incidents.tasks.announce_update",
        "a public row's customers and subscribers; long for a large incident; resumes",
        1740,
        1800,
        acks_late=True,
    ),
    Job(
        "incidents.tasks.announce_to_merchants",
        "merchants' systems hear of their affected orders; resumes after the last announced",
        1740,
        1800,
        acks_late=True,
    ),
    Job(
        "incidents.tasks.announce_estimates_to_merchants",
        "merchants' systems hear their orders' new estimates; keyed on the change",
        1740,
        1800,
        acks_late=True,
    ),
    Job(
        "incidents.tasks.run_link_job",
        "links a large set of orders; resumes after its last finished range",
        3540,
        3600,
        acks_late=True,
    ),
    Job(
        "compensation.tasks.issue_compensation",
        "issues an approved plan's coupons; resumes after its last finished batch",
        3540,
        3600,
        acks_late=True,
    ),
)

TASK_ANNOTATIONS: dict[str, dict[str, object]] = {job.task: job.annotations for job in JOBS}
BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    job.beat_name: {
        "task": job.task,
        "schedule": job.every,
        # A beat run still waiting when the next is due is dropped, not stacked.
        "options": {"expires": max(1, int(job.every.total_seconds()) - 5)},
    }
    for job in JOBS
    if job.every is not None
}


def _every(job: Job) -> str:
    if job.every is None:
        return "—"
    seconds = int(job.every.total_seconds())
    return (
        f"{seconds // 3600} h"
        if seconds % 3600 == 0
        else f"{seconds // 60} min"
        if seconds % 60 == 0
        else f"{seconds} s"
    )


def readme_table() -> str:
    """The README's table of jobs, from ``JOBS``."""
    lines = ["| task | beat | late ack | soft / hard limit | what, and why so |", "| --- | --- | --- | --- | --- |"]
    for job in JOBS:
        lines.append(
            f"| `{job.task}` | {_every(job)} | {'yes' if job.acks_late else 'no'} | "
            f"{job.soft_time_limit} / {job.time_limit} s | {job.why} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(readme_table())
