"""Regressions found by the property-based API tests (tests/test_api_properties.py)."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from core import roles
from tests.conftest import client_with_role
from tests.factories import UserFactory, declare_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor() -> APIClient:
    client = client_with_role(roles.SUPERVISOR)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/orders/SF%0012/",
        "/api/v1/customers/C%00/",
        "/api/v1/incidents/?status=%00",
        "/complaints/abc%00def/",
        "/unsubscribe/a%00b/",
    ],
)
def test_a_nul_character_in_the_url_is_a_bad_request_not_a_server_error(supervisor, url):
    assert supervisor.get(url).status_code == 400


def test_a_nul_character_in_a_category_code_is_a_field_error(supervisor):
    response = supervisor.post(
        "/api/v1/incidents/", {"category": "info\x00", "severity": 2, "title_zh": "故障"}, format="json"
    )

    assert response.status_code == 400
    assert "category" in response.json()


def test_a_nul_character_in_a_username_is_a_field_error(supervisor):
    from complaints.services import complaint_file
    from tests.factories import CustomerFactory

    complaint = complaint_file(customer=CustomerFactory(), reason="delayed", description="还没到", channel="phone")

    response = supervisor.post(
        f"/api/v1/complaints/{complaint.reference}/assign/", {"assignee": "a\x00"}, format="json"
    )

    assert response.status_code == 400
    assert "assignee" in response.json()


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` in JSON Schema terms."""
    if isinstance(node, dict):
        node = {key: _json_schema(value) for key, value in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    return node


def _documented_400(path: str, method: str = "post") -> Draft202012Validator:
    document = _json_schema(APIClient().get("/api/v1/schema/?format=json").json())
    content = document["paths"][path][method]["responses"]["400"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**content, "components": document["components"]})


@pytest.mark.parametrize(
    "body",
    [b"\x00", b"{}", b'{"orders": "not a list"}'],
    ids=["unreadable", "missing-field", "wrong-type"],
)
def test_order_batch_request_errors_match_the_documented_400(body):
    client = client_with_role(roles.INTEGRATION)

    response = client.post("/api/v1/orders/batch/", body, content_type="application/json")

    assert response.status_code == 400
    errors = list(_documented_400("/api/v1/orders/batch/").iter_errors(json.loads(response.content)))
    assert errors == []


def test_order_batch_row_report_still_matches_the_documented_400():
    client = client_with_role(roles.INTEGRATION)

    response = client.post("/api/v1/orders/batch/", {"orders": [{"tracking_number": ""}]}, format="json")

    assert response.status_code == 400 and "errors" in response.json()
    assert list(_documented_400("/api/v1/orders/batch/").iter_errors(response.json())) == []


def test_link_list_request_errors_match_the_documented_400():
    incident = declare_incident(actor=UserFactory(role=roles.INCIDENT_MANAGER))
    client = client_with_role(roles.INCIDENT_MANAGER)
    path = "/api/v1/incidents/{incident_id}/affected-orders/by-tracking-numbers/"

    response = client.post(path.format(incident_id=incident.pk), {}, format="json")

    assert response.status_code == 400
    assert list(_documented_400(path).iter_errors(response.json())) == []
