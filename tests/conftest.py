from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import roles
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def client_with_role(role: str | None) -> APIClient:
    client = APIClient()
    user = UserFactory(role=role, is_staff=role not in (None, roles.INTEGRATION))
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def integration_client(db) -> APIClient:
    return client_with_role(roles.INTEGRATION)


@pytest.fixture
def agent_client(db) -> APIClient:
    return client_with_role(roles.CUSTOMER_SERVICE_AGENT)
