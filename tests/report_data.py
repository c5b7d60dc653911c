"""A small data set for the report figures, every number in it computed by hand.

Period 2026-03-02 (Mon) .. 2026-03-15 (Sun), Asia/Shanghai.

Incidents (information system: 30 min / 2 h; equipment: 1 h / 24 h)
  A  information system, reported 03-02 10:00, acknowledged +10 min (met), resolved +1 h (met)
  B  information system, reported 03-03 09:00, acknowledged +40 min (missed), resolved +3 h (missed);
     no complaints, no coupons, no affected orders
  C  equipment, reported 03-10 08:00, acknowledged +30 min (met), resolved +30 h (missed)
  D  information system, reported 03-12 12:00, never acknowledged (response missed), open
  E  information system, reported 02-20 (outside the period)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from compensation.models import Coupon
from complaints.models import Complaint, ReplyDeadline
from core import roles
from incidents.models import AffectedOrder, Incident, IncidentCategory
from notifications.models import Notification, StatusSubscription
from tests.factories import CouponFactory, CustomerFactory, OrderFactory, UserFactory, declare_incident

SHANGHAI = ZoneInfo("Asia/Shanghai")
START, END = date(2026, 3, 2), date(2026, 3, 15)
NOW = datetime(2026, 3, 16, 8, 0, tzinfo=SHANGHAI)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class ReportData:
    incidents: dict[str, Incident]
    agents: list[Any]
    customers: list[Any]


def _incident(
    code: str, reported: datetime, acknowledged: timedelta | None, resolved: timedelta | None, **met
) -> Incident:
    incident = declare_incident(category_code=code, notify_customers=False)
    category = IncidentCategory.objects.get(code=code)
    Incident.objects.filter(pk=incident.pk).update(
        reported_at=reported,
        impact_started_at=reported,
        acknowledged_at=reported + acknowledged if acknowledged is not None else None,
        resolved_at=reported + resolved if resolved is not None else None,
        response_due_at=reported + category.response_target,
        recovery_due_at=reported + category.recovery_target,
        **met,
    )
    incident.refresh_from_db()
    return incident


def _message(incident, customer, channel, status, sent_at=None, key="declared"):
    return Notification.objects.create(
        event_type="incident_declared",
        event_key=f"{key}-{incident.pk}",
        customer=customer,
        channel=channel,
        language="zh-hans",
        incident=incident,
        status=status,
        sent_at=sent_at,
        next_attempt_at=incident.reported_at,
        created_at=incident.reported_at,
    )


def _complaint(reference, customer, reason, filed, incident=None, first_response=None, assignee=None, breach=False):
    complaint = Complaint.objects.create(
        reference=reference,
        customer=customer,
        reason=reason,
        description="包裹延误",
        incident=incident,
        created_at=filed,
        first_response_at=filed + first_response if first_response is not None else None,
        assignee=assignee,
    )
    ReplyDeadline.objects.create(
        complaint=complaint,
        started_at=filed,
        due_at=filed + timedelta(hours=24),
        answered_at=complaint.first_response_at,
        met=False if breach else (True if first_response is not None else None),
        escalated_at=filed + timedelta(hours=24) if breach else None,
    )
    return complaint


def _coupon(incident, customer, value, created, minimum_spend="0", status="issued", source="incident_rule"):
    coupon = CouponFactory(
        incident=incident, customer=customer, value=Decimal(value), minimum_spend=Decimal(minimum_spend), source=source
    )
    Coupon.objects.filter(pk=coupon.pk).update(created_at=created, status=status)
    return coupon


def build() -> ReportData:
    minute = timedelta(minutes=1)
    hour = timedelta(hours=1)
    a = _incident("information_system", at(3, 2, 10), 10 * minute, hour, response_met=True, recovery_met=True)
    b = _incident("information_system", at(3, 3, 9), 40 * minute, 3 * hour, response_met=False, recovery_met=False)
    c = _incident("equipment", at(3, 10, 8), 30 * minute, 30 * hour, response_met=True, recovery_met=False)
    d = _incident("information_system", at(3, 12, 12), None, None, response_met=False)
    e = _incident("information_system", at(2, 20, 12), 5 * minute, hour, response_met=True, recovery_met=True)

    c1, c2, c3 = CustomerFactory(), CustomerFactory(), CustomerFactory()
    for incident, customer, reason in ((a, c1, "delayed"), (a, c1, "lost"), (a, c2, "delayed"), (c, c3, "damaged")):
        order = OrderFactory(customer=customer)
        AffectedOrder.objects.create(
            incident=incident,
            order=order,
            reason=reason,
            original_promise=order.promised_delivery,
            linked_at=incident.reported_at,
        )
    _message(a, c1, "sms", "delivered", a.reported_at + 5 * minute)
    _message(a, c1, "email", "sent", a.reported_at + 6 * minute)
    _message(a, c2, "sms", "failed")
    _message(a, c2, "email", "delivered", a.reported_at + 20 * minute)
    _message(c, c3, "sms", "suppressed")
    _message(c, c3, "email", "delivered", c.reported_at + hour)
    # Outside the period: never counted.
    _message(e, c3, "email", "delivered", e.reported_at + 2 * hour)
    # A status-page subscriber's notice about A, late: not a customer, never counted.
    subscriber = StatusSubscription.objects.create(
        channel="email", address="watcher@example.com", token="report-data", confirmed_at=a.reported_at
    )
    Notification.objects.create(
        event_type="status_notice",
        event_key=f"status-notice-{a.pk}",
        subscription=subscriber,
        channel="email",
        language="zh-hans",
        incident=a,
        status="delivered",
        sent_at=a.reported_at + 5 * hour,
        next_attempt_at=a.reported_at,
        created_at=a.reported_at,
    )

    agent_one = UserFactory(username="agent-one", role=roles.CUSTOMER_SERVICE_AGENT)
    agent_two = UserFactory(username="agent-two", role=roles.CUSTOMER_SERVICE_AGENT)
    _complaint("K1", c1, "delay", at(3, 2, 12), a, 2 * hour, agent_one)
    _complaint("K2", c1, "lost", at(3, 3, 12), a, 30 * hour, agent_one, breach=True)
    _complaint("K3", c2, "delay", at(3, 11, 12), None, None, agent_two, breach=True)
    _complaint("K4", c3, "damaged", at(3, 15, 20), c, None, None)
    _complaint("K5", c3, "delay", at(2, 21, 12), e, hour, agent_one)  # outside the period

    _coupon(a, c1, "5.00", at(3, 4, 10), status="redeemed")
    _coupon(a, c1, "5.00", at(3, 4, 10))
    _coupon(a, c2, "5.00", at(3, 4, 10), status="revoked")
    _coupon(None, c2, "10.00", at(3, 11, 13), source="goodwill")
    _coupon(c, c3, "20.00", at(3, 11, 9), minimum_spend="50.00")
    _coupon(e, c3, "99.00", at(2, 22, 9))  # outside the period
    return ReportData(
        incidents={"A": a, "B": b, "C": c, "D": d, "E": e}, agents=[agent_one, agent_two], customers=[c1, c2, c3]
    )


def _plain(value: Any, names: dict[Any, str]) -> Any:
    """A figure as JSON: incidents by their letter, other rows by what reads the same on any database."""
    if isinstance(value, Incident):
        return names[value.pk]
    if isinstance(value, IncidentCategory):
        return value.code
    if isinstance(value, Complaint):
        return value.reference
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | timedelta):
        return str(value)
    if isinstance(value, dict):
        # Primary keys differ between databases; the rows they name are shown beside them.
        return {str(key): _plain(item, names) for key, item in value.items() if not str(key).endswith("_id")}
    if isinstance(value, list | tuple):
        return [_plain(item, names) for item in value]
    return value


def figures() -> dict[str, Any]:
    """``build`` the data set, then every figure of the dashboard over the period and of
    the reports of incidents A and C, as JSON (compared across databases)."""
    from reports.selectors import Filters, dashboard, incident_report

    data = build()
    names = {incident.pk: letter for letter, incident in data.incidents.items()}
    board = dashboard(filters=Filters(start=START, end=END), now=NOW)
    result = {
        name: _plain(getattr(board, name), names)
        for name in (
            "incidents",
            "customers",
            "complaints",
            "compensation",
            "incident_weeks",
            "complaint_weeks",
            "recovery_distribution",
            "response_distribution",
            "reply_distribution",
        )
    }
    for letter in ("A", "C"):
        report = incident_report(incident=data.incidents[letter], now=NOW)
        result[f"report {letter}"] = _plain(
            {
                "customers": report.customers,
                "complaints": report.complaints,
                "compensation": report.compensation,
                "targets": [{key: value for key, value in row.items() if key != "name"} for row in report.targets],
                "complaint_rows": [(row.reference, row.first_response_seconds) for row in report.complaint_rows],
            },
            names,
        )
    return result
