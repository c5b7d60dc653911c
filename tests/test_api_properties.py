"""Property-based testing of the API against its own OpenAPI schema (schemathesis).

Every operation under /api/v1/ gets generated requests — valid and invalid bodies,
odd path parameters — signed in as a superuser so permission checks do not stop
them early. No answer may be a server error, and every documented answer must
match the schema (body and content type). Examples per operation are capped to keep
the suite fast; ``SCHEMATHESIS_EXAMPLES=200 bin/test -k api_properties`` digs deeper.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from config.wsgi import application
from core.services import api_token_issue
from tests.factories import UserFactory

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@pytest.fixture
def superuser_token(db):
    # The app is called in-process on this test's connection and transaction;
    # Django would close that connection at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield api_token_issue(name="fuzzer", user=UserFactory(is_superuser=True)).key
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_within_its_schema_and_without_server_errors(case, superuser_token):
    # call_and_validate raises with the failing check's report; the assertion states the main one.
    response = case.call_and_validate(
        headers={"Authorization": f"Token {superuser_token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
    assert response.status_code < 500
