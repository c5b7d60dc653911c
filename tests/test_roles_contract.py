"""The README's role table as behaviour: what client systems, agents and managers may not do,
and the client systems' tokens."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from compensation.approvals import compensation_request_incident
from compensation.models import CompensationRequest, CompensationRule
from core import roles
from core.errors import DomainError
from core.models import ApiToken
from core.services import api_token_issue
from incidents.criteria import LinkCriteria
from incidents.linking import incident_link_orders
from incidents.models import IncidentStatus
from notifications.models import Notification
from tests.factories import OrderFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


def _client_system() -> tuple[APIClient, object]:
    user = UserFactory(role=roles.INTEGRATION, is_staff=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(name='monitoring', user=user).key}")
    return client, user


def test_a_client_system_cannot_message_customers_nor_resolve_a_persons_incident():
    incident = declare_incident()
    OrderFactory(hub="上海转运中心")
    incident_link_orders(
        incident=incident, criteria=LinkCriteria(hubs=["上海转运中心"]), actor=UserFactory(role=roles.SUPERVISOR)
    )
    messages_before = Notification.objects.count()
    client, _user = _client_system()

    update = client.post(f"/api/v1/incidents/{incident.pk}/updates/", {"body_zh": "已恢复"}, format="json")
    resolve = client.post(f"/api/v1/incidents/{incident.pk}/transitions/", {"action": "resolve"}, format="json")

    assert (update.status_code, resolve.status_code) == (403, 403)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.REPORTED
    assert Notification.objects.count() == messages_before


def test_a_client_system_opens_an_internal_incident_and_may_move_only_that_one():
    client, _user = _client_system()

    opened = client.post(
        "/api/v1/incidents/", {"category": "information_system", "severity": 2, "title_zh": "告警"}, format="json"
    )
    published = client.post(
        "/api/v1/incidents/",
        {"category": "information_system", "severity": 2, "title_zh": "告警", "publish": True},
        format="json",
    )
    acknowledged = client.post(
        f"/api/v1/incidents/{opened.json()['id']}/transitions/", {"action": "acknowledge"}, format="json"
    )

    assert opened.status_code == 201 and opened.json()["published_at"] is None
    assert published.status_code == 403
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"


def test_a_client_systems_criteria_link_above_the_share_of_all_parcels_needs_a_person(settings):
    settings.INTEGRATION_LINK_MAX_PERCENT = 50
    OrderFactory.create_batch(3, hub="杭州转运中心")
    OrderFactory(hub="宁波转运中心")
    incident = declare_incident()
    client, _user = _client_system()
    url = f"/api/v1/incidents/{incident.pk}/affected-orders/by-criteria/"

    too_many = client.post(url, {"hubs": ["杭州转运中心"]}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    within = client.post(url, {"hubs": ["宁波转运中心"]}, format="json")

    assert too_many.status_code == 403 and "a person must link them" in too_many.json()["detail"]
    assert within.status_code == 200 and within.json() == {"linked": 1}
    assert incident.affected_orders.count() == 1
    linked_by_person = incident_link_orders(
        incident=incident, criteria=LinkCriteria(hubs=["杭州转运中心"]), actor=UserFactory(role=roles.INCIDENT_MANAGER)
    )
    assert linked_by_person == 3


def test_a_revoked_or_expired_token_is_refused_and_a_live_one_records_its_use():
    live_user, old_user = UserFactory(role=roles.INTEGRATION), UserFactory(role=roles.INTEGRATION)
    live = api_token_issue(name="order system", user=live_user)
    expired = api_token_issue(name="old shop", user=old_user, expires_at=timezone.now() - timedelta(minutes=1))

    answers = {}
    for name, key in (("live", live.key), ("expired", expired.key)):
        answers[name] = APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/incidents/").status_code
    ApiToken.objects.filter(pk=live.pk).update(revoked_at=timezone.now())
    answers["revoked"] = APIClient(HTTP_AUTHORIZATION=f"Token {live.key}").get("/api/v1/incidents/").status_code

    assert answers == {"live": 200, "expired": 401, "revoked": 401}
    live.refresh_from_db()
    assert live.last_used_at is not None


def test_one_live_token_per_client_system_and_per_account():
    user = UserFactory(role=roles.INTEGRATION)
    api_token_issue(name="order system", user=user)

    with pytest.raises(DomainError):
        api_token_issue(name="order system", user=UserFactory(role=roles.INTEGRATION))
    with pytest.raises(DomainError):
        api_token_issue(name="second name", user=user)


def test_a_superuser_issues_a_token_in_the_admin_sees_its_key_once_and_revokes_it(client):
    client.force_login(UserFactory(is_superuser=True))
    account = UserFactory(role=roles.INTEGRATION, is_staff=False)

    created = client.post(
        reverse("admin:core_apitoken_add"), {"name": "monitoring", "user": account.pk, "expires_at": ""}, follow=True
    )
    token = ApiToken.objects.get(name="monitoring")
    client.post(reverse("admin:core_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]})

    assert token.key in created.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_agent_cannot_start_incident_wide_compensation(client):
    incident = declare_incident()
    order = OrderFactory()
    incident_link_orders(
        incident=incident,
        criteria=LinkCriteria(hubs=[order.hub]),
        actor=UserFactory(role=roles.SUPERVISOR),
        notify=False,
    )
    CompensationRule.objects.create(incident=incident, value=Decimal("5"))
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)
    client.force_login(agent)

    response = client.post(reverse("admin:incidents_incident_compensate", args=[incident.pk]))

    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        compensation_request_incident(incident=incident, actor=agent)
    assert not CompensationRequest.objects.exists()
