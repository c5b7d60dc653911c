from __future__ import annotations

from typing import Any


def queue_incident_update(*, update_id: int, **_: Any) -> None:
    """Receiver of ``incidents.hooks.public_update_committed``: queue the update's messages."""
    from notifications.services import notifications_queue_after_commit

    # Already after commit: on_commit runs the queueing at once.
    notifications_queue_after_commit(event_key=f"incident-update:{update_id}")
