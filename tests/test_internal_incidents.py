"""Incidents kept internal (a cyber-security event, an alert from monitoring) and published later."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core import roles
from incidents.criteria import LinkCriteria
from incidents.errors import IncidentError
from incidents.linking import incident_link_orders
from incidents.services import incident_post_update
from notifications.models import Notification
from portal.published import memo_reset, rebuild
from tests.factories import OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def internal(django_capture_on_commit_callbacks):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare_incident(actor=manager, publish=False, title_zh="数据泄露排查", title_en="Data leak review")
        OrderFactory(hub="北京转运中心")
        incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["北京转运中心"]), actor=manager)
    return incident, manager


def _public_text(client) -> str:
    memo_reset()
    pages = ["/", "/history/", "/api/v2/incidents.json", "/api/v2/summary.json", "/history.atom"]
    return "".join(client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode() for url in pages)


def test_an_internal_incident_is_on_no_public_page_and_tells_no_customer(client, internal):
    incident, _manager = internal

    assert "Data leak review" not in _public_text(client)
    assert client.get(f"/incidents/{incident.pk}/").status_code == 404
    assert not Notification.objects.filter(incident=incident).exists()
    assert not incident.updates.filter(visibility="public").exists()


def test_a_public_update_on_an_internal_incident_is_refused(internal):
    incident, manager = internal

    with pytest.raises(IncidentError):
        incident_post_update(incident_id=incident.pk, actor=manager, body_zh="已控制", visibility="public")


def test_publishing_shows_it_on_the_portal_and_tells_its_customers(
    client, internal, django_capture_on_commit_callbacks
):
    incident, manager = internal
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:incidents_incident_publish", args=[incident.pk]))

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.published_at is not None
    client.logout()
    # The test's one transaction holds the fixture's rebuild callback, which the signal
    # takes for this one (once per transaction); a real commit rebuilds by itself.
    rebuild()
    assert "Data leak review" in _public_text(client)
    assert client.get(f"/incidents/{incident.pk}/").status_code == 200
    assert Notification.objects.filter(event_key=f"incident-affected:{incident.pk}").count() == 2  # SMS and email


def test_csv_exports_neutralise_cells_a_spreadsheet_would_run():
    from reports.tables import Table

    table = Table(key="t", title="t", columns=[("title", "text"), ("minutes", "duration")])
    table.rows = [['=HYPERLINK("http://x")', -600], ["+1", 60], ["-cmd", 0], ["@SUM(A1)", 0], ["plain", 0]]

    lines = table.as_csv().splitlines()[1:]

    assert [line.split(",")[0] for line in lines] == [
        '"\'=HYPERLINK(""http://x"")"',
        "'+1",
        "'-cmd",
        "'@SUM(A1)",
        "plain",
    ]
    assert lines[0].endswith(",-10.0")  # numbers stay numbers
