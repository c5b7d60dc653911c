from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def check_incident_targets() -> int:
    """Beat, every minute. Idempotent: each alert is raised once however often it runs."""
    from incidents.targets import incident_targets_check

    return len(incident_targets_check())


@shared_task(ignore_result=True)
def announce_update(update_id: int) -> dict[str, int]:
    """Tell customers and status-page subscribers of a committed public row. Idempotent."""
    from incidents.messaging import update_announce

    return update_announce(update_id=update_id)


@shared_task(ignore_result=True)
def sweep_announcements() -> int:
    """Beat, every minute: queue again the announcements whose task was lost."""
    from incidents.messaging import incident_announcements_sweep

    return incident_announcements_sweep()


@shared_task(ignore_result=True, acks_late=True)
def run_link_job(job_id: int) -> None:
    """Link a large set of orders; late ack is safe: the job resumes after its last finished range."""
    from incidents.linking import link_job_run

    link_job_run(job_id=job_id)
