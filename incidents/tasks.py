from __future__ import annotations

from celery import shared_task

from incidents.linking import link_job_run
from incidents.messaging import (
    incident_announcements_sweep,
    merchants_affected_announce,
    merchants_estimates_announce,
    update_announce,
)
from incidents.targets import incident_targets_check


@shared_task(ignore_result=True)
def check_incident_targets() -> int:
    """Beat, every minute. Idempotent: each alert is raised once however often it runs."""
    return len(incident_targets_check())


@shared_task(ignore_result=True)
def announce_update(update_id: int) -> dict[str, int]:
    """Tell customers and status-page subscribers of a committed public row. Idempotent."""
    return update_announce(update_id=update_id)


@shared_task(ignore_result=True)
def announce_to_merchants(incident_id: int) -> int:
    """Tell merchants' systems of their affected orders. Resumes where it stopped."""
    return merchants_affected_announce(incident_id=incident_id)


@shared_task(ignore_result=True)
def announce_estimates_to_merchants(incident_id: int, update_id: int) -> int:
    """Tell merchants' systems their orders' new estimates. Idempotent (keyed on the update)."""
    return merchants_estimates_announce(incident_id=incident_id, update_id=update_id)


@shared_task(ignore_result=True)
def sweep_announcements() -> int:
    """Beat, every minute: queue again the announcements whose task was lost."""
    return incident_announcements_sweep()


@shared_task(ignore_result=True, acks_late=True)
def run_link_job(job_id: int) -> None:
    """Link a large set of orders; late ack is safe: the job resumes after its last finished range."""
    link_job_run(job_id=job_id)
