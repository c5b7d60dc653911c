from __future__ import annotations

from typing import Any


def queue_incident_update(*, update_id: int, **_: Any) -> None:
    """Receiver of ``incidents.hooks.public_update_committed``: queue the update's messages."""
    import logging

    from incidents.models import IncidentUpdate
    from notifications.services import notifications_queue_after_commit
    from notifications.tasks import fan_out_update

    update = IncidentUpdate.objects.filter(pk=update_id).values("fanned_out_at", "notify_sms", "notify_email").first()
    if update is None or not (update["notify_sms"] or update["notify_email"]):
        return
    if update["fanned_out_at"] is None:
        try:
            fan_out_update.apply_async(args=[update_id], retry=False)
        except Exception as error:  # noqa: BLE001 - the sweeper finds updates not yet fanned out
            logging.getLogger(__name__).warning(
                "broker unreachable; the sweeper will fan out",
                extra={"update": update_id, "error": type(error).__name__},
            )
        return
    # Already after commit: on_commit runs the queueing at once.
    notifications_queue_after_commit(event_key=f"incident-update:{update_id}")
