"""The dashboard, its CSV exports and the post-incident report (page and PDF): staff only."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from core import roles
from reports.models import FollowUp
from tests import report_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PERIOD = {"start": report_data.START.isoformat(), "end": report_data.END.isoformat()}


@pytest.fixture
def data():
    return report_data.build()


def _client(role: str | None, **user_fields) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role, **user_fields))
    return client


@pytest.fixture
def manager() -> Client:
    return _client(roles.INCIDENT_MANAGER)


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.parametrize(
    "url",
    [
        lambda data: reverse("reports-dashboard"),
        lambda data: reverse("reports-incident", args=[data.incidents["A"].pk]),
        lambda data: reverse("reports-incident-pdf", args=[data.incidents["A"].pk]),
    ],
)
def test_reports_are_for_managers_and_supervisors_only(data, url):
    address = url(data)

    assert Client().get(address).status_code == 302  # to the admin sign-in
    assert _client(roles.CUSTOMER_SERVICE_AGENT).get(address).status_code == 403
    assert _client(None, is_staff=True).get(address).status_code == 403
    assert _client(roles.INCIDENT_MANAGER).get(address).status_code == 200
    assert _client(roles.SUPERVISOR).get(address).status_code == 200


def test_dashboard_shows_the_figures_and_charts_in_chinese(data, manager, django_assert_max_num_queries):
    # A fixed number of aggregate queries (26 today), whatever the size of the period.
    with django_assert_max_num_queries(30):
        response = manager.get(reverse("reports-dashboard"), PERIOD)

    page = response.content.decode()
    assert response.status_code == 200
    assert "量化评估指标" in page
    assert page.count('<svg class="report-chart"') == 5
    assert "cdn" not in page.lower()
    assert "信息系统故障" in page
    # The response and recovery shares of the whole period: 2 of 4, 1 of 3.
    assert "50%" in page and "33%" in page
    assert "¥40.00" in page
    assert "30 分钟" in page  # the median time to acknowledge, 1800 s


def test_dashboard_empty_period_renders(data, manager):
    response = manager.get(reverse("reports-dashboard"), {"start": "2025-01-06", "end": "2025-01-12"})

    assert response.status_code == 200
    assert "此期间没有数据" in response.content.decode()


def test_dashboard_refuses_a_period_that_ends_before_it_starts(manager):
    response = manager.get(reverse("reports-dashboard"), {"start": "2026-03-10", "end": "2026-03-01"})

    assert response.status_code == 400
    assert "report-chart" not in response.content.decode()


def test_each_table_exports_as_csv(data, manager):
    response = manager.get(reverse("reports-dashboard"), {**PERIOD, "export": "incidents"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) == 4  # header, two categories, total
    information, equipment, total = rows[1:]
    # Minutes to acknowledge (median, p90), shares as fractions.
    assert information[1:5] == ["3", "25.0", "37.0", "0.3333"]
    assert equipment[1] == "1"
    assert total[1:] == ["4", "30.0", "38.0", "0.5000", "180.0", "1476.0", "0.3333", "4"]

    for key in (
        "incident_weeks",
        "affected",
        "delivery",
        "complaints",
        "complaint_weeks",
        "breaches_agent",
        "breaches_incident",
        "cost_incident",
        "cost_rule",
    ):
        exported = manager.get(reverse("reports-dashboard"), {**PERIOD, "export": key})
        assert exported.status_code == 200, key
        assert exported.content.decode().count("\n") >= 2, key

    cost = list(
        csv.reader(
            io.StringIO(manager.get(reverse("reports-dashboard"), {**PERIOD, "export": "cost_rule"}).content.decode())
        )
    )
    assert [row[1:] for row in cost[1:]] == [
        ["1", "0", "10.00", "0.00"],
        ["1", "0", "20.00", "0.00"],
        ["3", "1", "10.00", "5.00"],
    ]
    assert manager.get(reverse("reports-dashboard"), {**PERIOD, "export": "nonsense"}).status_code == 404


def test_admin_index_links_to_the_dashboard_for_readers_only(data, manager):
    assert reverse("reports-dashboard") in manager.get(reverse("admin:index")).content.decode()
    agent = _client(roles.CUSTOMER_SERVICE_AGENT)
    assert reverse("reports-dashboard") not in agent.get(reverse("admin:index")).content.decode()


def _review(incident, owner):
    from incidents.models import Incident

    Incident.objects.filter(pk=incident.pk).update(
        root_cause="数据库主节点磁盘写满",
        measures_taken="切换到备用节点并清理日志",
        improvements="增加磁盘容量告警",
    )
    FollowUp.objects.create(incident=incident, title="磁盘容量告警阈值 80%", owner=owner, due_on=date(2026, 4, 1))


def test_report_page_shows_impact_review_and_follow_ups(data, manager, django_assert_max_num_queries):
    incident = data.incidents["A"]
    _review(incident, data.agents[0])

    with django_assert_max_num_queries(30):
        page = manager.get(reverse("reports-incident", args=[incident.pk])).content.decode()

    assert "事后报告" in page
    assert "数据库主节点磁盘写满" in page
    assert "磁盘容量告警阈值 80%" in page
    assert "K1" in page and "K2" in page
    assert "¥10.00" in page


def test_report_of_incident_without_complaints_says_so(data, manager):
    page = manager.get(reverse("reports-incident", args=[data.incidents["B"].pk])).content.decode()

    assert "此事件没有投诉" in page


def test_pdf_renders_in_chinese_with_the_figures(data, manager):
    incident = data.incidents["A"]
    _review(incident, data.agents[0])

    response = manager.get(reverse("reports-incident-pdf", args=[incident.pk]))

    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "事后报告" in text
    assert incident.reference in text
    assert "数据库主节点磁盘写满" in text
    assert "磁盘容量告警阈值" in text
    assert "¥10.00" in text


def test_pdf_renders_in_english(data, manager):
    incident = data.incidents["B"]

    response = manager.get(reverse("reports-incident-pdf", args=[incident.pk]), {"language": "en"})

    text = _pdf_text(response.content)
    assert "Post-incident report" in text
    assert "No complaints about this incident." in text
    assert "missed" in text
    assert manager.get(reverse("reports-incident-pdf", args=[incident.pk]), {"language": "fr"}).status_code == 404


def test_follow_up_items_are_kept_on_the_incident_page_not_the_declaration_form(data, manager):
    incident = data.incidents["A"]

    change_page = manager.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    add_page = manager.get(reverse("admin:incidents_incident_add")).content.decode()
    agent_page = (
        _client(roles.CUSTOMER_SERVICE_AGENT)
        .get(reverse("admin:incidents_incident_change", args=[incident.pk]))
        .content.decode()
    )

    assert "follow_ups-TOTAL_FORMS" in change_page
    assert reverse("reports-incident", args=[incident.pk]) in change_page
    assert "follow_ups-TOTAL_FORMS" not in add_page
    assert "follow_ups-TOTAL_FORMS" not in agent_page
