"""The dashboard's figures against the hand-computed data set in ``tests/report_data.py``."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from incidents.models import IncidentCategory
from reports.selectors import Filters, dashboard, incident_report
from tests import quickstart, report_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    return report_data.build()


def _period(**narrow) -> Filters:
    return Filters(start=report_data.START, end=report_data.END, **narrow)


def test_incident_times_and_targets(data):
    figures = dashboard(filters=_period(), now=report_data.NOW).incidents

    total = figures["total"]
    assert total["count"] == 4  # E is outside the period
    # Acknowledged after 600, 2400, 1800 s; percentile_cont interpolates: p90 = 1800 + 0.8 × 600.
    assert total["acknowledge_median"] == pytest.approx(1800)
    assert total["acknowledge_p90"] == pytest.approx(2280)
    # Recovered after 3600, 10800, 108000 s.
    assert total["recover_median"] == pytest.approx(10800)
    assert total["recover_p90"] == pytest.approx(10800 + 0.8 * 97200)
    assert total["response_share"] == pytest.approx(2 / 4)
    assert total["recovery_share"] == pytest.approx(1 / 3)
    assert total["targets_missed"] == 4  # responses of B and D, recoveries of B and C

    rows = {row["category"].code: row for row in figures["by_category"]}
    assert list(rows) == ["information_system", "equipment"]
    assert rows["information_system"]["count"] == 3
    assert rows["information_system"]["acknowledge_median"] == pytest.approx(1500)
    assert rows["equipment"]["recover_median"] == pytest.approx(108000)
    assert rows["equipment"]["recovery_share"] == 0


def test_incident_weeks_and_distribution_against_target(data):
    board = dashboard(filters=_period(), now=report_data.NOW)

    assert [(week["week"], week["count"], week["missed"]) for week in board.incident_weeks] == [
        (date(2026, 3, 2), 2, 1),
        (date(2026, 3, 9), 2, 2),
    ]
    # Recovery as a share of its target: A 0.5, B 1.5, C 1.25 → buckets ≤0.5 and (1, 1.5].
    assert board.recovery_distribution == [0, 1, 0, 0, 2, 0, 0]
    # Acknowledged at 10/30, 40/30, 30/60 of the target.
    assert board.response_distribution == [0, 2, 0, 0, 1, 0, 0]


def test_customer_figures(data):
    customers = dashboard(filters=_period(), now=report_data.NOW).customers

    assert customers["affected_orders"] == 4
    assert {row["reason"]: row["count"] for row in customers["affected_by_reason"]} == {
        "delayed": 2,
        "lost": 1,
        "damaged": 1,
    }
    assert customers["affected_customers"] == 3
    assert customers["customers_notified"] == 3
    sms, email = customers["channels"]["sms"], customers["channels"]["email"]
    assert (sms["total"], sms["sent"], sms["delivered"], sms["failed"], sms["suppressed"]) == (3, 1, 1, 1, 1)
    assert sms["delivery_rate"] == pytest.approx(1 / 2)
    assert (email["total"], email["sent"], email["delivered"], email["failed"]) == (3, 3, 2, 0)
    assert email["delivery_rate"] == pytest.approx(2 / 3)
    # Last first message: A after 20 min (1200 s), C after 1 h.
    assert customers["last_first_message_median"] == pytest.approx(2400)
    assert customers["last_first_message_p90"] == pytest.approx(1200 + 0.9 * 2400)
    assert customers["last_first_message_max"] == pytest.approx(3600)


def test_complaint_figures(data):
    complaints = dashboard(filters=_period(), now=report_data.NOW).complaints

    assert complaints["count"] == 4
    assert {row["reason"]: row["count"] for row in complaints["by_reason"]} == {"delay": 2, "lost": 1, "damaged": 1}
    # First replies after 2 h and 30 h.
    assert complaints["first_response_median"] == pytest.approx(57600)
    assert complaints["first_response_p90"] == pytest.approx(7200 + 0.9 * 100800)
    # K1 in time; K2 late; K3 unanswered past 24 h; K4's 24 h have not passed yet.
    assert (complaints["in_time"], complaints["owed"], complaints["unanswered"]) == (1, 3, 2)
    assert complaints["in_time_share"] == pytest.approx(1 / 3)
    assert complaints["breaches"] == 2
    assert [(row["complaint__assignee__username"], row["breaches"]) for row in complaints["breaches_by_agent"]] == [
        ("agent-one", 1),
        ("agent-two", 1),
    ]
    by_incident = {row["incident"]: row["breaches"] for row in complaints["breaches_by_incident"]}
    assert by_incident == {data.incidents["A"]: 1, None: 1}


def test_complaint_reply_distribution(data):
    board = dashboard(filters=_period(), now=report_data.NOW)

    # 2 h → first bucket (≤ 2 h); 30 h → (24, 36].
    assert board.reply_distribution == [1, 0, 0, 0, 0, 0, 0, 1, 0, 0]


def test_compensation_figures(data):
    compensation = dashboard(filters=_period(), now=report_data.NOW).compensation

    assert (compensation["issued"], compensation["redeemed"]) == (5, 1)
    assert compensation["cost"] == Decimal("40.00")  # the revoked ¥5 costs nothing
    assert compensation["redeemed_value"] == Decimal("5.00")
    by_incident = {row["incident"]: (row["issued"], row["cost"]) for row in compensation["by_incident"]}
    assert by_incident == {
        data.incidents["C"]: (1, Decimal("20.00")),
        data.incidents["A"]: (3, Decimal("10.00")),
        None: (1, Decimal("10.00")),
    }
    by_rule = [(row["source"], row["value"], row["issued"], row["cost"]) for row in compensation["by_rule"]]
    assert by_rule == [
        ("goodwill", Decimal("10.00"), 1, Decimal("10.00")),
        ("incident_rule", Decimal("20.00"), 1, Decimal("20.00")),
        ("incident_rule", Decimal("5.00"), 3, Decimal("10.00")),
    ]


def test_category_and_severity_narrow_every_section(data):
    equipment = IncidentCategory.objects.get(code="equipment")
    board = dashboard(filters=_period(category=equipment), now=report_data.NOW)

    assert board.incidents["total"]["count"] == 1
    assert board.customers["affected_orders"] == 1
    assert board.complaints["count"] == 1  # K4, the only complaint about an equipment incident
    assert board.compensation["cost"] == Decimal("20.00")

    critical = dashboard(filters=_period(severity=1), now=report_data.NOW)
    assert critical.incidents["total"]["count"] == 0


def test_empty_period_has_no_figures_and_no_errors(data):
    board = dashboard(filters=Filters(start=date(2025, 1, 6), end=date(2025, 1, 12)), now=report_data.NOW)

    assert board.incidents["total"]["count"] == 0
    assert board.incidents["total"]["acknowledge_median"] is None
    assert board.incidents["total"]["response_share"] is None
    assert board.incidents["by_category"] == []
    assert board.customers["affected_orders"] == 0
    assert board.customers["channels"] == {}
    assert board.customers["last_first_message_median"] is None
    assert board.complaints["count"] == 0
    assert board.complaints["in_time_share"] is None
    assert board.compensation["cost"] == Decimal("0.00")
    assert [week["count"] for week in board.incident_weeks] == [0]
    assert board.recovery_distribution == [0] * 7


def test_report_of_an_incident_without_complaints_or_coupons(data):
    report = incident_report(incident=data.incidents["B"], now=report_data.NOW)

    assert report.complaints["count"] == 0
    assert report.complaints["first_response_median"] is None
    assert report.complaints["in_time_share"] is None
    assert report.complaint_rows == []
    assert report.compensation["issued"] == 0
    assert report.customers["affected_orders"] == 0


def test_report_of_an_incident_with_complaints(data):
    report = incident_report(incident=data.incidents["A"], now=report_data.NOW)

    assert report.complaints["count"] == 2
    assert report.complaints["first_response_median"] == pytest.approx((7200 + 108000) / 2)
    assert report.complaints["in_time_share"] == pytest.approx(1 / 2)
    assert [row.reference for row in report.complaint_rows] == ["K1", "K2"]
    assert report.customers["affected_orders"] == 3
    assert report.customers["last_first_message_max"] == pytest.approx(1200)
    assert report.compensation["cost"] == Decimal("10.00")


def _flat(figures: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(figures, dict):
        return {key: value for name, item in figures.items() for key, value in _flat(item, f"{prefix}{name}.").items()}
    if isinstance(figures, list):
        return {
            key: value for index, item in enumerate(figures) for key, value in _flat(item, f"{prefix}{index}.").items()
        }
    return {prefix.rstrip("."): figures}


def _same(one: Any, other: Any) -> bool:
    if isinstance(one, float) or isinstance(other, float):
        return one is not None and other is not None and math.isclose(one, other, rel_tol=1e-9)
    return one == other


def test_figures_on_the_embedded_sqlite_database_are_those_on_postgresql(quickstart_database, tmp_path):
    # given the data set on PostgreSQL, in this process, and on the quick start's SQLite, in its own
    on_postgresql = _flat(report_data.figures())
    on_sqlite = _flat(quickstart.run("tests.report_data:figures", var_dir=tmp_path, template=quickstart_database))

    # then every figure is the same, percentiles included
    assert connection.vendor == "postgresql"
    differences = {
        key: (on_postgresql.get(key), on_sqlite.get(key))
        for key in on_postgresql.keys() | on_sqlite.keys()
        if not _same(on_postgresql.get(key), on_sqlite.get(key))
    }
    assert differences == {}, "\n".join(f"{key}: {pair}" for key, pair in sorted(differences.items()))
    assert on_sqlite["incidents.total.acknowledge_p90"] == pytest.approx(2280)
    assert on_sqlite["customers.last_first_message_p90"] == pytest.approx(1200 + 0.9 * 2400)
    assert on_sqlite["complaints.first_response_median"] == pytest.approx(57600)
    assert on_sqlite["report A.complaint_rows.1.1"] == pytest.approx(108000)
    assert len(on_postgresql) > 300
