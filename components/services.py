from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from components.messaging import maintenance_announcements_sweep
from components.models import (
    STATUS_RANK,
    ComponentStatus,
    ComponentStatusChange,
    Maintenance,
    MaintenanceState,
    ServiceComponent,
)
from notifications.models import WebhookEvent
from notifications.outbox import webhook_publish_now

# Who else says what a component suffers: the incidents app registers its open incidents'
# impacts at start-up (``incidents/apps.py``), so this app never imports it.
ImpactReader = Callable[..., dict[int, list[str]]]
_impact_readers: list[ImpactReader] = []


def component_impacts_register(reader: ImpactReader) -> None:
    """Add ``reader(component_ids=[…]) -> {component id: [status, …]}`` to every recompute."""
    if reader not in _impact_readers:
        _impact_readers.append(reader)


def _worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=STATUS_RANK.__getitem__, default=ComponentStatus.OPERATIONAL)


def component_statuses_recompute(*, component_ids: Iterable[int], reason: str = "") -> list[int]:
    """Set each component to the worst of its open incidents' impacts (the registered
    readers), active maintenance and what monitoring says (``monitoring_status``).

    Maintenance silences monitoring: alerts that fire while the work is under way are
    expected, and the status page says "under maintenance", not "outage".

    Logs every change in ``ComponentStatusChange``. Idempotent: a component
    already in the right state is left alone and logs nothing. Returns the ids
    that changed. Call inside the transaction that changed incidents or maintenance.
    """
    ids = sorted(set(component_ids))
    if not ids:
        return []
    impacts: dict[int, list[str]] = {}
    for reader in _impact_readers:
        for component_id, statuses in reader(component_ids=ids).items():
            impacts.setdefault(component_id, []).extend(statuses)
    in_maintenance = set(
        Maintenance.objects.filter(
            state__in=[MaintenanceState.IN_PROGRESS, MaintenanceState.VERIFYING], components__in=ids
        ).values_list("components", flat=True)
    )
    now = timezone.now()
    changed = []
    with transaction.atomic():
        # Locked in primary-key order so two recomputes never deadlock.
        for component in ServiceComponent.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
            candidates = list(impacts.get(component.pk, []))
            if component.pk in in_maintenance:
                candidates.append(ComponentStatus.UNDER_MAINTENANCE)
            else:
                candidates.append(component.monitoring_status)
            wanted = _worst(candidates)
            if wanted == component.status:
                continue
            ComponentStatusChange.objects.create(
                component=component, from_status=component.status, to_status=wanted, changed_at=now, reason=reason[:200]
            )
            webhook_publish_now(
                event=WebhookEvent.COMPONENT_STATUS_CHANGED,
                reference=f"{component.pk}:{now.timestamp():.6f}",
                data={
                    "component": {"id": component.pk, "name_zh": component.name_zh, "name_en": component.name_en},
                    "from_status": component.status,
                    "to_status": wanted,
                    "changed_at": now,
                    "reason": reason[:200],
                },
            )
            component.status, component.status_changed_at = wanted, now
            component.save(update_fields=["status", "status_changed_at"])
            changed.append(component.pk)
    return changed


def component_monitoring_status_set(*, component_id: int, status: str, reason: str) -> bool:
    """Record what monitoring says about the component and recompute its status.

    Idempotent: the same status again writes nothing. Returns whether the public
    status changed. Call inside the transaction that recorded the alerts.
    """
    with transaction.atomic():
        ServiceComponent.objects.filter(pk=component_id).exclude(monitoring_status=status).update(
            monitoring_status=status
        )
        return bool(component_statuses_recompute(component_ids=[component_id], reason=reason))


def maintenances_advance(*, now: datetime | None = None) -> dict[str, int]:
    """Beat job: start windows that began, move finished ones to verifying.

    Rows are claimed with ``select_for_update(skip_locked=True)``, so two beat
    processes never move the same window twice.
    """
    now = now or timezone.now()
    moved = {"started": 0, "verifying": 0}
    for state, due_field, action, counter in (
        (MaintenanceState.SCHEDULED, "starts_at", "start", "started"),
        (MaintenanceState.IN_PROGRESS, "ends_at", "verify", "verifying"),
    ):
        with transaction.atomic():
            due = list(
                Maintenance.objects.select_for_update(skip_locked=True)
                .filter(state=state, **{f"{due_field}__lte": now})
                .order_by("pk")
            )
            for maintenance in due:
                getattr(maintenance, action)()
                if action == "start":
                    maintenance.started_at = now
                maintenance.save()
                component_statuses_recompute(
                    component_ids=maintenance.components.values_list("pk", flat=True),
                    reason=f"maintenance {maintenance.pk} {action}",
                )
                moved[counter] += 1
    maintenance_announcements_sweep()
    return moved


def maintenance_complete(*, maintenance: Maintenance) -> None:
    """Staff confirm the work is verified; components return to their incident-driven state."""
    with transaction.atomic():
        locked = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
        locked.complete()
        locked.completed_at = timezone.now()
        locked.save()
        component_statuses_recompute(
            component_ids=locked.components.values_list("pk", flat=True), reason=f"maintenance {locked.pk} completed"
        )
    maintenance.refresh_from_db()
