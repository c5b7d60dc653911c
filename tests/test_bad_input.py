"""Bad input gets a clear error, never a 500: the cases found by hand, then every admin form
and desk POST fuzzed the way schemathesis fuzzes the API (tests/test_api_properties.py)."""

from __future__ import annotations

import os
from html.parser import HTMLParser

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compensation.models import CompensationRequest
from complaints.services import complaint_file
from core import roles
from incidents.models import IncidentCategory
from tests.conftest import client_with_role
from tests.factories import OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("ADMIN_FUZZ_EXAMPLES", "12"))


@pytest.fixture
def supervisor(client) -> Client:
    client.force_login(UserFactory(role=roles.SUPERVISOR))
    client.raise_request_exception = False
    return client


@pytest.fixture
def complaint():
    order = OrderFactory()
    return complaint_file(customer=order.customer, order=order, reason="delay", description="延误", channel="phone")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e9", "-5", "abc"])
def test_a_goodwill_value_that_is_not_a_sum_of_money_is_a_clear_error(supervisor, complaint, value):
    response = supervisor.post(
        reverse("admin:complaints_complaint_goodwill", args=[complaint.pk]), {"value": value}, follow=True
    )

    assert response.status_code == 200
    assert list(response.context["messages"])  # said why, on the complaint page
    assert not CompensationRequest.objects.exists()


def test_an_api_delay_of_nan_hours_is_a_field_error():
    incident = declare_incident()
    client = client_with_role(roles.INCIDENT_MANAGER)

    response = client.post(
        f"/api/v1/incidents/{incident.pk}/affected-orders/by-criteria/",
        {"hubs": ["上海转运中心"], "delay_hours": "nan"},
        format="json",
    )

    assert response.status_code == 400 and "delay_hours" in response.json()


@pytest.mark.parametrize("target", ["-1 00:00:00", "00:00:00", "999999999 00:00:00", "400 00:00:00"])
def test_negative_zero_or_huge_target_durations_are_field_errors(target, supervisor):
    client = client_with_role(roles.INCIDENT_MANAGER)
    category = IncidentCategory.objects.get(code="logistics")

    api = client.post(
        "/api/v1/incidents/",
        {"category": "logistics", "severity": 2, "title_zh": "台风", "response_target": target},
        format="json",
    )
    admin = supervisor.post(
        reverse("admin:incidents_incidentcategory_change", args=[category.pk]),
        {"name_zh": category.name_zh, "name_en": category.name_en, "response_target": target, "position": "0"},
    )

    assert api.status_code == 400 and "response_target" in api.json()
    assert admin.status_code == 200 and "response_target" in admin.context["adminform"].form.errors


def test_a_pasted_csv_field_over_128_kib_is_a_form_error(supervisor):
    incident = declare_incident()

    response = supervisor.post(
        reverse("admin:incidents_incident_link_list", args=[incident.pk]),
        {"tracking_numbers": '"' + "A" * 200_000, "reason": "delayed"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "could not be read" in response.content.decode()  # beside the field, the list still in it
    assert not incident.affected_orders.exists()


@pytest.mark.parametrize(
    "url",
    ["admin:complaints_complaint_reply", "admin:complaints_complaint_goodwill"],
)
def test_a_nul_character_in_a_post_field_is_a_bad_request(supervisor, complaint, url):
    response = supervisor.post(reverse(url, args=[complaint.pk]), {"body": "a\x00b", "value": "5", "note": "\x00"})

    assert response.status_code == 400


def test_a_nul_character_in_a_portal_form_is_a_bad_request(client):
    response = client.post("/track/", {"tracking_number": "SF\x00", "phone_last4": "1234"})

    assert response.status_code == 400


# --- fuzzing --------------------------------------------------------------------------------


class _FormFields(HTMLParser):
    """The fields of every form on a page with their current values (the admin's own HTML)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name and attributes.get("type") not in ("submit", "file", "button"):
            if attributes.get("type") in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.fields.setdefault(name, attributes.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attributes:
            self.fields[self._select] = attributes.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.setdefault(name, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


NASTY = st.one_of(
    st.sampled_from(
        [
            "nan",
            "NaN",
            "inf",
            "-Infinity",
            "1e9",
            "1e400",
            "-1",
            "0",
            "9" * 40,
            "",
            " ",
            "-1 00:00:00",
            "999999999 00:00:00",
            "2026-13-45T25:61",
            "9999-12-31T23:59",
            "0001-01-01T00:00",
            "x" * 300,
            "'; DROP TABLE x; --",
            '=HYPERLINK("http://x")',
            "🙂" * 10,
            "SF" + "9" * 30,
        ]
    ),
    st.text(max_size=40).filter(lambda text: "\x00" not in text),
)


def _fuzz_targets(world) -> list[tuple[str, str]]:
    """(page to read the form from, URL the form posts to)."""
    incident, complaint, category = world
    change = lambda name, pk: reverse(f"admin:{name}_change", args=[pk])  # noqa: E731
    desk = change("incidents_incident", incident.pk)
    desk_posts = [
        "transition",
        "post_update",
        "link_criteria",
        "link_list",
        "shift",
        "unlink",
        "compensate",
        "publish",
    ]
    complaint_page = change("complaints_complaint", complaint.pk)
    return [
        *[(desk, reverse(f"admin:incidents_incident_{name}", args=[incident.pk])) for name in desk_posts],
        (complaint_page, reverse("admin:complaints_complaint_reply", args=[complaint.pk])),
        (complaint_page, reverse("admin:complaints_complaint_goodwill", args=[complaint.pk])),
        (desk, desk),  # the incident form with its inlines: components, compensation rules, follow-ups
        (complaint_page, complaint_page),
        *[
            (reverse(f"admin:{name}_add"), reverse(f"admin:{name}_add"))
            for name in (
                "incidents_incident",
                "components_maintenance",
                "components_servicecomponent",
                "complaints_cannedresponse",
                "reports_followup",
            )
        ],
        (change("incidents_incidentcategory", category.pk),) * 2,
        (change("customers_customer", complaint.customer_id),) * 2,
    ]


@pytest.fixture
def fuzz_world():
    incident = declare_incident(actor=UserFactory(role=roles.SUPERVISOR))
    order = OrderFactory()
    return (
        incident,
        complaint_file(customer=order.customer, order=order, reason="delay", description="延误", channel="phone"),
        IncidentCategory.objects.get(code="logistics"),
    )


def _fuzz(client: Client, action: str, base: dict[str, str], names: list[str], failures: list[str]) -> None:
    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(changes=st.dictionaries(st.sampled_from(names), NASTY, max_size=6))
    def post(changes: dict[str, str]) -> None:
        with transaction.atomic():
            response = client.post(action, {**base, **changes})
            transaction.set_rollback(True)
        if response.status_code >= 500:
            failures.append(f"{action} {changes!r}: {response.status_code}")

    post()


def test_admin_forms_and_desk_posts_never_answer_a_server_error(fuzz_world):
    client = Client()
    client.force_login(UserFactory(is_superuser=True))
    client.raise_request_exception = False
    failures: list[str] = []
    for page, action in _fuzz_targets(fuzz_world):
        parser = _FormFields()
        parser.feed(client.get(page).content.decode())
        names = sorted(name for name in parser.fields if name != "csrfmiddlewaretoken")

        _fuzz(client, action, dict(parser.fields), names or ["x"], failures)
    assert not failures, "\n".join(failures[:20])
