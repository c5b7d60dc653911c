"""Status-page subscribers hear when maintenance is scheduled, starts, ends or is cancelled.

Each state is announced once (the outbox key holds the state) and the
maintenance remembers the last state it announced, so the minute's beat
announces whatever a lost task did not.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format

from components.models import Maintenance, MaintenanceState
from core.queue import enqueue_on_commit
from notifications.outbox import EventKey, subscribers_notice

logger = logging.getLogger(__name__)

ANNOUNCE_TASK = "components.tasks.announce_maintenance"
# States subscribers hear about; "verifying" is internal.
NOTICE_STATES = (
    MaintenanceState.SCHEDULED,
    MaintenanceState.IN_PROGRESS,
    MaintenanceState.COMPLETED,
    MaintenanceState.CANCELLED,
)


def maintenance_announce_on_commit(*, maintenance_id: int) -> None:
    enqueue_on_commit(ANNOUNCE_TASK, maintenance_id)


def maintenance_announce(*, maintenance_id: int) -> int:
    """Write the notices of the maintenance's current state, once; returns how many are new."""
    with transaction.atomic():
        maintenance = Maintenance.objects.select_for_update().filter(pk=maintenance_id).first()
        if maintenance is None or maintenance.announced_state == maintenance.state:
            return 0
        written = 0
        if maintenance.state in NOTICE_STATES:

            def context(language: str) -> dict[str, str]:  # called with ``language`` active
                window = " – ".join(
                    date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
                    for moment in (maintenance.starts_at, maintenance.ends_at)
                )
                return {
                    "incident_title": maintenance.localized("title"),
                    "update_text": f"{maintenance.localized('description')} ({window})".strip(),
                    "status": str(MaintenanceState(maintenance.state).label),
                    "link": f"{settings.PUBLIC_BASE_URL}/",
                }

            written = subscribers_notice(
                event_key=EventKey.maintenance_notice(maintenance.pk, maintenance.state),
                component_ids=list(maintenance.components.values_list("pk", flat=True)),
                context=context,
                critical=False,
            )
        Maintenance.objects.filter(pk=maintenance.pk).update(announced_state=maintenance.state)
    return written


def maintenance_announcements_sweep() -> int:
    """Announce every maintenance whose state changed without its announcement (a lost task)."""
    waiting = Maintenance.objects.exclude(state=F("announced_state")).values_list("pk", flat=True)
    count = 0
    for maintenance_id in list(waiting[:100]):
        count += maintenance_announce(maintenance_id=maintenance_id)
    return count
