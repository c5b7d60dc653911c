from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from components.models import ComponentStatus, ComponentStatusChange, Maintenance, MaintenanceState, ServiceComponent
from components.services import maintenance_complete, maintenances_advance
from core import roles
from incidents.services import incident_set_components, incident_transition
from tests.factories import UserFactory, declare_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return UserFactory(role=roles.INCIDENT_MANAGER)


@pytest.fixture
def tracking():
    return ServiceComponent.objects.create(name_zh="运单查询", name_en="Parcel tracking")


@pytest.fixture
def ordering():
    return ServiceComponent.objects.create(name_zh="在线下单", name_en="Online ordering")


def test_incident_sets_its_components_status_and_resolving_restores_it(manager, tracking):
    incident = declare_incident(actor=manager, component_impacts={tracking.pk: ComponentStatus.MAJOR_OUTAGE})
    assert ServiceComponent.objects.get(pk=tracking.pk).status == ComponentStatus.MAJOR_OUTAGE

    incident_transition(incident_id=incident.pk, action="resolve", actor=manager)

    assert ServiceComponent.objects.get(pk=tracking.pk).status == ComponentStatus.OPERATIONAL
    changes = list(
        ComponentStatusChange.objects.filter(component=tracking)
        .order_by("changed_at", "id")
        .values_list("from_status", "to_status")
    )
    assert changes == [("operational", "major_outage"), ("major_outage", "operational")]


def test_worst_open_incident_wins(manager, tracking):
    first = declare_incident(actor=manager, component_impacts={tracking.pk: ComponentStatus.DEGRADED_PERFORMANCE})
    declare_incident(actor=manager, component_impacts={tracking.pk: ComponentStatus.PARTIAL_OUTAGE})
    assert ServiceComponent.objects.get(pk=tracking.pk).status == ComponentStatus.PARTIAL_OUTAGE

    incident_transition(incident_id=first.pk, action="resolve", actor=manager)

    assert ServiceComponent.objects.get(pk=tracking.pk).status == ComponentStatus.PARTIAL_OUTAGE


def test_changing_an_incidents_components_updates_both(manager, tracking, ordering):
    incident = declare_incident(actor=manager, component_impacts={tracking.pk: ComponentStatus.MAJOR_OUTAGE})

    incident_set_components(
        incident_id=incident.pk, actor=manager, impacts={ordering.pk: ComponentStatus.PARTIAL_OUTAGE}
    )

    assert ServiceComponent.objects.get(pk=tracking.pk).status == ComponentStatus.OPERATIONAL
    assert ServiceComponent.objects.get(pk=ordering.pk).status == ComponentStatus.PARTIAL_OUTAGE


def test_maintenance_is_moved_along_by_beat_and_completed_by_staff(tracking):
    now = timezone.now()
    maintenance = Maintenance.objects.create(
        title_zh="数据库升级", starts_at=now + timedelta(minutes=10), ends_at=now + timedelta(hours=1)
    )
    maintenance.components.add(tracking)

    assert maintenances_advance(now=now) == {"started": 0, "verifying": 0}
    assert maintenances_advance(now=now + timedelta(minutes=11)) == {"started": 1, "verifying": 0}
    assert maintenances_advance(now=now + timedelta(minutes=12)) == {"started": 0, "verifying": 0}
    assert ServiceComponent.objects.get(pk=tracking.pk).status == ComponentStatus.UNDER_MAINTENANCE
    assert maintenances_advance(now=now + timedelta(hours=2)) == {"started": 0, "verifying": 1}
    assert Maintenance.objects.get(pk=maintenance.pk).state == MaintenanceState.VERIFYING

    maintenance_complete(maintenance=maintenance)

    assert maintenance.state == MaintenanceState.COMPLETED
    assert ServiceComponent.objects.get(pk=tracking.pk).status == ComponentStatus.OPERATIONAL


def test_an_outage_during_maintenance_shows_the_outage(manager, tracking):
    now = timezone.now()
    maintenance = Maintenance.objects.create(
        title_zh="升级", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1)
    )
    maintenance.components.add(tracking)
    maintenances_advance(now=now)

    declare_incident(actor=manager, component_impacts={tracking.pk: ComponentStatus.MAJOR_OUTAGE})

    assert ServiceComponent.objects.get(pk=tracking.pk).status == ComponentStatus.MAJOR_OUTAGE
