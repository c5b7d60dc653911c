from __future__ import annotations

import pytest

from core import roles
from incidents.models import Visibility
from incidents.services import incident_post_update, incident_transition
from tests.factories import UserFactory, declare_incident

pytestmark = pytest.mark.django_db


def test_home_shows_open_incidents_with_their_latest_public_update_only(client):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager, title_zh="分拣线停机<script>")
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="公开:正在抢修")
    incident_post_update(
        incident_id=incident.pk, actor=manager, body_zh="内部:供应商电话 13800138000", visibility=Visibility.INTERNAL
    )

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "分拣线停机&lt;script&gt;" in page
    assert "公开:正在抢修" in page
    assert "内部" not in page
    assert "13800138000" not in page


def test_home_says_all_is_well_when_nothing_is_open(client):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    incident_transition(incident_id=incident.pk, action="resolve", actor=manager)

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "No incidents are published yet" in page


def test_home_query_count_is_flat(client, django_assert_max_num_queries):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    for _ in range(5):
        declare_incident(actor=manager)

    with django_assert_max_num_queries(4):
        client.get("/")
