from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core import roles
from incidents.criteria import Estimate, LinkCriteria
from incidents.errors import IncidentError
from incidents.linking import (
    incident_link_orders,
    incident_link_tracking_numbers,
    incident_shift_estimates,
    incident_unlink_orders,
    link_job_run,
    link_job_start,
    tracking_list_parse,
)
from incidents.models import AffectedOrder, LinkJob, LinkJobState, UpdateKind
from incidents.selectors import incident_link_preview
from tests.factories import OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return UserFactory(role=roles.INCIDENT_MANAGER)


@pytest.fixture
def incident(manager):
    return declare_incident(actor=manager, category_code="logistics")


@pytest.fixture
def parcels():
    promised = timezone.now() + timedelta(days=1)
    return {
        "shanghai": OrderFactory.create_batch(3, hub="上海转运中心", status="at_hub", promised_delivery=promised),
        "shanghai_delivered": OrderFactory.create_batch(
            2, hub="上海转运中心", status="delivered", promised_delivery=promised
        ),
        "guangzhou": OrderFactory.create_batch(2, hub="广州白云转运中心", status="at_hub", promised_delivery=promised),
    }


def test_link_by_criteria_links_exactly_the_matching_orders_with_a_delayed_estimate(incident, manager, parcels):
    criteria = LinkCriteria(hubs=["上海转运中心"], statuses=["at_hub", "in_transit"])

    linked = incident_link_orders(
        incident=incident, criteria=criteria, estimate=Estimate(delay=timedelta(hours=48)), actor=manager
    )

    assert linked == 3
    links = AffectedOrder.objects.filter(incident=incident).select_related("order")
    assert {link.order_id for link in links} == {order.pk for order in parcels["shanghai"]}
    for link in links:
        assert link.original_promise == link.order.promised_delivery
        assert link.new_estimate - link.original_promise == timedelta(hours=48)
        assert (link.reason, link.linked_by) == ("delayed", manager)
    assert incident.updates.filter(kind=UpdateKind.ORDERS).count() == 1


def test_linking_twice_adds_nothing(incident, manager, parcels):
    criteria = LinkCriteria(hubs=["上海转运中心"])
    incident_link_orders(incident=incident, criteria=criteria, actor=manager)

    again = incident_link_orders(incident=incident, criteria=criteria, actor=manager)

    assert again == 0
    assert AffectedOrder.objects.filter(incident=incident).count() == 5


def test_preview_counts_matching_and_already_linked(incident, manager, parcels):
    incident_link_orders(
        incident=incident, criteria=LinkCriteria(hubs=["上海转运中心"], statuses=["at_hub"]), actor=manager
    )

    preview = incident_link_preview(incident=incident, criteria=LinkCriteria(hubs=["上海转运中心"]))

    assert (preview.matching, preview.already_linked, preview.to_link) == (5, 3, 2)
    assert AffectedOrder.objects.count() == 3


def test_time_window_criteria(incident, manager):
    now = timezone.now()
    early = OrderFactory(promised_delivery=now + timedelta(hours=5))
    OrderFactory(promised_delivery=now + timedelta(hours=50))

    incident_link_orders(
        incident=incident,
        criteria=LinkCriteria(promised_from=now, promised_to=now + timedelta(hours=24)),
        actor=manager,
    )

    assert list(AffectedOrder.objects.values_list("order_id", flat=True)) == [early.pk]


def test_empty_criteria_are_refused(incident, manager, parcels):
    with pytest.raises(IncidentError, match="at least one criterion"):
        incident_link_orders(incident=incident, criteria=LinkCriteria(), actor=manager)
    assert not AffectedOrder.objects.exists()


def test_agent_may_not_link(incident, parcels):
    with pytest.raises(PermissionDenied):
        incident_link_orders(
            incident=incident,
            criteria=LinkCriteria(hubs=["上海转运中心"]),
            actor=UserFactory(role=roles.CUSTOMER_SERVICE_AGENT),
        )
    assert not AffectedOrder.objects.exists()


def test_a_tracking_list_links_atomically_and_reports_duplicates_and_already_linked(incident, manager, parcels):
    first, second, third = parcels["guangzhou"] + parcels["shanghai"][:1]
    incident_link_tracking_numbers(incident=incident, tracking_numbers=[third.tracking_number], actor=manager)
    text = f"tracking_number\n{first.tracking_number.lower()}\n{second.tracking_number}\n{first.tracking_number}\n{third.tracking_number}\n"

    report = incident_link_tracking_numbers(
        incident=incident, tracking_numbers=tracking_list_parse(text), reason="lost", actor=manager
    )

    assert report.ok
    assert report.linked == 2
    assert [number for _, number in report.duplicates] == [first.tracking_number]
    assert [number for _, number in report.already_linked] == [third.tracking_number]
    assert set(AffectedOrder.objects.filter(reason="lost").values_list("order_id", flat=True)) == {first.pk, second.pk}


def test_a_list_with_unknown_or_malformed_numbers_is_rejected_whole_with_its_report(incident, manager, parcels):
    good = parcels["guangzhou"][0].tracking_number
    numbers = tracking_list_parse(f"{good}\nSF0000000000000\nnot a number!\n")

    report = incident_link_tracking_numbers(incident=incident, tracking_numbers=numbers, actor=manager)

    assert not report.ok
    assert report.linked == 0
    assert report.unknown == [(2, "SF0000000000000")]
    assert report.malformed == [(3, "NOT A NUMBER!")]
    assert report.to_link == [good]
    assert not AffectedOrder.objects.exists()


def test_unlink_listed_orders_or_all(incident, manager, parcels):
    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["上海转运中心"]), actor=manager)
    one = parcels["shanghai"][0].tracking_number

    assert incident_unlink_orders(incident=incident, actor=manager, tracking_numbers=[one]) == 1
    assert incident_unlink_orders(incident=incident, actor=manager) == 4
    assert not AffectedOrder.objects.exists()


def test_shift_moves_every_estimate_in_one_update(incident, manager, parcels, django_assert_max_num_queries):
    incident_link_orders(
        incident=incident,
        criteria=LinkCriteria(hubs=["上海转运中心"]),
        estimate=Estimate(delay=timedelta(hours=24)),
        actor=manager,
    )

    with django_assert_max_num_queries(6):
        shifted = incident_shift_estimates(incident=incident, actor=manager, delta=timedelta(hours=12))

    assert shifted == 5
    for link in AffectedOrder.objects.all():
        assert link.new_estimate - link.original_promise == timedelta(hours=36)


def test_link_job_links_in_ranges_with_progress_and_a_rerun_adds_nothing(
    incident, manager, parcels, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = link_job_start(
            incident=incident, criteria=LinkCriteria(hubs=["上海转运中心", "广州白云转运中心"]), actor=manager
        )
    assert (job.state, job.total_orders, job.progress_percent) == (LinkJobState.QUEUED, 7, 0)

    link_job_run(job_id=job.pk)
    link_job_run(job_id=job.pk)

    job = LinkJob.objects.get(pk=job.pk)
    assert (job.state, job.linked, job.progress_percent) == (LinkJobState.DONE, 7, 100)
    assert AffectedOrder.objects.count() == 7


def test_linking_is_one_statement_whatever_the_count(incident, manager, django_assert_max_num_queries):
    OrderFactory.create_batch(60, hub="西安转运中心")

    with django_assert_max_num_queries(8):
        linked = incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["西安转运中心"]), actor=manager)

    assert linked == 60
