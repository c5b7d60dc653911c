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
def announce_to_merchants(incident_id: int) -> int:
    """Tell merchants' systems of their affected orders. Resumes where it stopped."""
    from incidents.messaging import merchants_affected_announce

    return merchants_affected_announce(incident_id=incident_id)


@shared_task(ignore_result=True)
def announce_estimates_to_merchants(incident_id: int, update_id: int) -> int:
    """Tell merchants' systems their orders' new estimates. Idempotent (keyed on the update)."""
    from incidents.messaging import merchants_estimates_announce

    return merchants_estimates_announce(incident_id=incident_id, update_id=update_id)


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
