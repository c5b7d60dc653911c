"""The desk's buttons: each action alone (no request), and how the desk runs one.

The apps' admin tests drive the same buttons through the pages; the permission matrix
drives every one as every role.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from complaints.services import complaint_file
from core import roles
from incidents.criteria import LinkCriteria
from incidents.models import AffectedOrder, IncidentStatus
from ops.desk.actions import Done, Shown
from ops.desk.complaint_actions import goodwill
from ops.desk.incident_actions import link_criteria, link_list, transition
from tests.factories import OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return UserFactory(role=roles.INCIDENT_MANAGER)


def test_a_transition_alone_moves_the_incident_and_says_so(manager):
    incident = declare_incident()

    outcome = transition(incident, manager, {"action": "acknowledge", "body_zh": "已收到", "body_en": ""})

    assert isinstance(outcome, Done)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACKNOWLEDGED


def test_a_preview_alone_counts_and_links_nothing(manager):
    incident = declare_incident()
    OrderFactory.create_batch(2, hub="南京转运中心")

    outcome = link_criteria(
        incident, manager, {"criteria": LinkCriteria(hubs=["南京转运中心"]), "preview": True, "reason": "delayed"}
    )

    assert isinstance(outcome, Shown)
    assert (outcome.context["criteria_preview"].matching, outcome.context["criteria_preview"].to_link) == (2, 2)
    assert not AffectedOrder.objects.exists()


def test_a_list_with_an_unknown_number_alone_links_nothing_and_reports_the_line(manager):
    from incidents.criteria import Estimate

    incident = declare_incident()
    known = OrderFactory()

    outcome = link_list(
        incident,
        manager,
        {"numbers": [known.tracking_number, "SF0000000000777"], "reason": "delayed", "estimate": Estimate()},
    )

    assert isinstance(outcome, Shown)
    report = outcome.context["list_report"]
    assert (report["ok"], report["linked"]) == (False, 0)
    assert report["problems"] == [("unknown", 1, [(2, "SF0000000000777")])]
    assert not AffectedOrder.objects.exists()


def test_goodwill_above_the_agents_limit_alone_waits_for_a_supervisor(settings):
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)
    complaint = complaint_file(
        customer=OrderFactory().customer, reason="delayed", description="还没到", channel="phone"
    )

    outcome = goodwill(complaint, agent, {"value": settings.COMPENSATION_AGENT_LIMIT + Decimal("1"), "note": ""})

    assert isinstance(outcome, Done)
    assert complaint.compensation_requests.get().status == "pending_approval"


# --- how the desk runs an action ------------------------------------------------------------


def test_a_form_with_errors_shows_the_page_again_with_what_was_typed(client, manager):
    incident = declare_incident()
    client.force_login(manager)

    response = client.post(
        reverse("admin:incidents_incident_post_update", args=[incident.pk]),
        {"body_en": "Sorting line 3 restarts at 14:00", "visibility": "public"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Please correct the errors below." in page
    assert "Sorting line 3 restarts at 14:00" in page  # kept in the form
    assert "This field is required." in page
    assert incident.updates.count() == 1  # only the declaration


def test_a_preview_is_in_the_response_itself_and_nothing_is_left_in_the_session(client, manager):
    incident = declare_incident()
    OrderFactory.create_batch(3, hub="上海转运中心")
    client.force_login(manager)

    response = client.post(
        reverse("admin:incidents_incident_link_criteria", args=[incident.pk]),
        {"hubs": ["上海转运中心"], "reason": "delayed", "preview": "1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "3 orders match; 0 are already linked; 3 would be added." in page
    assert 'value="上海转运中心" selected' in page  # the criteria stay chosen for "Link them"
    # The change form on the page still saves the incident, not the action.
    assert f'action="{reverse("admin:incidents_incident_change", args=[incident.pk])}"' in page
    assert not [key for key, _value in client.session.items() if key.startswith("incident-")]
    follow = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "orders match" not in follow.content.decode()


def test_a_get_goes_back_to_the_page_and_a_role_without_the_permission_is_refused(client, manager):
    incident = declare_incident()
    url = reverse("admin:incidents_incident_shift", args=[incident.pk])
    client.force_login(manager)
    assert client.get(url)["Location"] == reverse("admin:incidents_incident_change", args=[incident.pk]) + (
        "#affected-orders"
    )

    client.force_login(UserFactory(role=roles.CUSTOMER_SERVICE_AGENT))
    assert client.get(url).status_code == 403
    assert client.post(url, {"hours": "6"}).status_code == 403


def test_a_refusal_by_the_service_is_an_error_message_and_changes_nothing(client, manager):
    incident = declare_incident()
    client.force_login(manager)

    response = client.post(
        reverse("admin:incidents_incident_transition", args=[incident.pk]),
        {"action": "close"},  # needs the post-incident review, and a resolved incident
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.redirect_chain[-1][0] == reverse("admin:incidents_incident_change", args=[incident.pk])
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.REPORTED
