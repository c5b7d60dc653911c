"""The hook the notifications work listens to.

``public_update_committed`` is sent once per public timeline row, after the
transaction that wrote it commits (never for a rolled-back one), with
``update_id``. Receivers queue work; they must not raise into the request.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

public_update_committed = Signal()


def announce_public_update(update_id: int) -> None:
    from incidents.models import IncidentUpdate

    transaction.on_commit(lambda: public_update_committed.send_robust(sender=IncidentUpdate, update_id=update_id))
