from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def check_incident_targets() -> int:
    """Beat, every minute. Idempotent: each alert is raised once however often it runs."""
    from incidents.targets import incident_targets_check

    return len(incident_targets_check())


@shared_task(bind=True, ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_target_alert(self, alert_id: int) -> None:  # type: ignore[no-untyped-def]
    """Email one alert; retried with backoff when the mail server is unreachable."""
    from incidents.targets import target_alert_send

    target_alert_send(alert_id=alert_id)


@shared_task(ignore_result=True, acks_late=True)
def run_link_job(job_id: int) -> None:
    """Link a large set of orders; late ack is safe: the job resumes after its last finished range."""
    from incidents.linking import link_job_run

    link_job_run(job_id=job_id)
