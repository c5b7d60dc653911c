"""The status page: what it shows, served from the published cache, and how it survives trouble."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from components.models import ComponentGroup, ComponentStatus, ComponentStatusChange, ServiceComponent
from components.services import component_statuses_recompute
from core import roles
from incidents.models import Visibility
from incidents.services import incident_post_update, incident_transition
from portal import published
from portal.snapshot import component_history
from tests.concurrency import run_together
from tests.factories import MaintenanceFactory, UserFactory, declare_incident

pytestmark = pytest.mark.django_db


def _component(name: str = "运单查询", group: ComponentGroup | None = None, **fields) -> ServiceComponent:
    return ServiceComponent.objects.create(name_zh=name, name_en=fields.pop("name_en", ""), group=group, **fields)


def test_open_incident_shows_with_its_latest_public_update_only(client):
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


def test_all_operational_when_nothing_is_open(client):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    _component(name_en="Parcel tracking")
    incident = declare_incident(actor=manager)
    incident_transition(incident_id=incident.pk, action="resolve", actor=manager)

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "All Systems Operational" in page
    assert "Parcel tracking" in page
    assert "100.00% uptime" in page
    assert "Tracking system outage" not in page  # resolved: only in the history


def test_components_by_group_with_status_and_maintenance(client):
    group = ComponentGroup.objects.create(name_zh="转运网络", name_en="Hub network")
    hub = _component("广州白云转运中心", group, name_en="Guangzhou hub")
    maintenance = MaintenanceFactory()
    maintenance.components.add(hub)
    declare_incident(component_impacts={hub.pk: ComponentStatus.MAJOR_OUTAGE})

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Major System Outage" in page
    assert "Hub network" in page
    assert "Guangzhou hub" in page
    assert "status-major_outage" in page
    assert "Database upgrade" in page


def test_the_90_day_bars_say_in_words_which_days_had_trouble_and_not_by_colour_alone(client):
    hub = _component("广州白云转运中心", name_en="Guangzhou hub")
    _component("运单查询", name_en="Parcel tracking")
    declare_incident(component_impacts={hub.pk: ComponentStatus.MAJOR_OUTAGE})

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    texts = re.findall(r'<p class="visually-hidden">([^<]*)</p>', page)
    assert len(texts) == 2
    hub_text, tracking_text = sorted(texts)
    assert hub_text.startswith("Guangzhou hub, last 90 days:")
    assert "Days not fully operational:" in hub_text and "Major outage" in hub_text
    assert tracking_text.endswith("fully operational every day.")
    assert page.count('aria-hidden="true" focusable="false"') == 2  # the drawing itself is not read twice
    heights = {int(height) for height in re.findall(r'<rect [^>]*height="(\d+)"', page)}
    assert len(heights) == 2  # today's outage is a shorter bar, not only a red one


def test_a_warm_request_runs_no_sql(client, django_assert_num_queries):
    _component()
    declare_incident()
    for path in ("/", "/api/v2/summary.json", "/history.atom"):
        assert client.get(path).status_code == 200  # cold: one rendering fills the cache

    with django_assert_num_queries(0):
        for path in ("/", "/api/v2/summary.json", "/api/v2/status.json", "/history.atom"):
            assert client.get(path).status_code == 200


def test_validators_give_304_and_cdn_headers_are_set(client):
    first = client.get("/")

    assert "s-maxage=" in first["Cache-Control"]
    assert "stale-while-revalidate=" in first["Cache-Control"]
    assert "stale-if-error=" in first["Cache-Control"]
    assert "Accept-Language" in first["Vary"]
    assert client.get("/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get("/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    assert client.get("/", HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert english["ETag"] != first["ETag"]  # each language is its own rendering


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_rebuilds_the_page(client):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    before = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    builds = published.builds

    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="备用系统已启用")

    assert published.builds == builds + 1  # one rebuild for the whole transaction
    after = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "备用系统已启用" in after.content.decode()
    assert after["ETag"] != before["ETag"]


def test_a_rolled_back_change_does_not_rebuild(client, django_capture_on_commit_callbacks):
    client.get("/")
    builds = published.builds

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            from django.db import transaction

            with transaction.atomic():
                _component("回滚的组件")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass

    assert callbacks == []
    assert published.builds == builds


@pytest.mark.django_db(transaction=True)
def test_a_cold_cache_under_a_crowd_is_rendered_once(client):
    declare_incident()
    cache.clear()
    published.memo_reset()
    builds = published.builds

    def visit(_index: int) -> int:
        from django.test import Client

        return Client().get("/api/v2/summary.json").status_code

    assert run_together(visit, 8) == [200] * 8
    assert published.builds == builds + 1


@contextmanager
def database_down():
    """PostgreSQL unreachable: every new query fails to connect, as with the server stopped."""
    settings_dict = connection.settings_dict
    port = settings_dict["PORT"]
    connection.close()
    settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        connection.close()
        settings_dict["PORT"] = port


@pytest.mark.django_db(transaction=True)
def test_with_the_database_down_the_page_and_json_keep_the_last_state(client):
    declare_incident(title_zh="运单查询系统故障", title_en="Tracking system outage")
    assert client.get("/").status_code == 200

    with database_down():
        published.memo_reset()  # a web process started after the database went away: Redis has it
        page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        summary = client.get("/api/v2/summary.json", HTTP_ACCEPT_LANGUAGE="en")
        lookup = client.post(
            "/track/", {"tracking_number": "SF1234567890123", "phone_last4": "1234"}, HTTP_ACCEPT_LANGUAGE="en"
        )

    assert page.status_code == 200
    assert "运单查询系统故障" in page.content.decode()
    assert page["X-Status-Generated-At"]
    assert summary.status_code == 200
    assert summary.json()["incidents"][0]["name"] == "Tracking system outage"
    assert lookup.status_code == 503
    assert "temporarily unavailable" in lookup.content.decode()


@pytest.mark.django_db(transaction=True)
def test_never_rendered_and_database_down_says_unavailable_not_500(client):
    with database_down():
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()


def test_with_redis_down_the_process_keeps_serving_its_copy(client, settings, monkeypatch):
    declare_incident(title_en="Tracking system outage")
    assert client.get("/").status_code == 200
    monkeypatch.setattr(published, "RECHECK_SECONDS", 0)  # ask Redis on every request
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }

    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "Tracking system outage" in response.content.decode()


def test_content_security_policy_on_public_pages_only(client, admin_client):
    policy = client.get("/")["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "Content-Security-Policy" in client.get("/track/")
    assert "Content-Security-Policy" not in admin_client.get("/admin/")


def test_history_lists_past_incidents_paginated(client):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    for number in range(23):
        incident = declare_incident(actor=manager, title_en=f"Past incident {number:02d}")
        incident_transition(incident_id=incident.pk, action="resolve", actor=manager)
    declare_incident(actor=manager, title_en="Still open")

    first = client.get("/history/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    second = client.get("/history/?page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert len(re.findall(r"Past incident \d\d", first)) == 20
    assert len(re.findall(r"Past incident \d\d", second)) == 3
    assert "Still open" not in first + second
    assert "Page 2 of 2" in second


def test_history_when_empty(client):
    assert "No past incidents" in client.get("/history/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_feed_is_atom_with_incidents_and_public_updates(client):
    import xml.etree.ElementTree as ElementTree

    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager, title_en="Tracking system outage")
    incident_post_update(incident_id=incident.pk, actor=manager, body_zh="已切换备用线路", body_en="Switched to backup")

    response = client.get("/history.atom", HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Type"].startswith("application/atom+xml")
    assert response["Access-Control-Allow-Origin"] == "*"
    atom = "{http://www.w3.org/2005/Atom}"
    entries = ElementTree.fromstring(response.content).findall(f"{atom}entry")  # noqa: S314 - our own feed
    assert len(entries) == 1
    assert entries[0].find(f"{atom}title").text == f"{incident.reference} Tracking system outage"
    assert "Switched to backup" in entries[0].find(f"{atom}summary").text


def test_language_switch_sets_the_cookie_and_returns_only_to_our_own_pages(client):
    response = client.get("/language/en/?next=/track/")

    assert response.status_code == 302
    assert response["Location"] == "/track/"
    assert response.cookies["django_language"].value == "en"
    assert client.get("/language/en/?next=https://evil.example/")["Location"] == "/"
    assert client.get("/language/xx/").status_code == 404
    assert "Where is my parcel?" in client.get("/track/").content.decode()


# --- the 90-day history, against hand-computed figures -------------------------------------


def _at(day: datetime, hour: int) -> datetime:
    return day + timedelta(hours=hour)


def test_uptime_weighs_major_fully_and_partial_at_three_tenths():
    component = _component()
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), datetime.min.time()))
    now = _at(midnight, 12)
    yesterday = midnight - timedelta(days=1)
    for at, old, new in (
        (_at(yesterday, 1), "operational", "major_outage"),
        (_at(yesterday, 3), "major_outage", "partial_outage"),
        (_at(yesterday, 13), "partial_outage", "degraded_performance"),
        (_at(yesterday, 20), "degraded_performance", "operational"),
    ):
        ComponentStatusChange.objects.create(component=component, from_status=old, to_status=new, changed_at=at)

    history = component_history(component_ids=[component.pk], now=now)[component.pk]

    # 2 h major + 10 h partial × 0.3 = 5 h of downtime; degraded counts nothing.
    day = history["days"][-2]
    assert day["date"] == timezone.localdate(yesterday)
    assert day["status"] == "major_outage"
    assert day["down_minutes"] == 300
    assert day["uptime"] == 79.17  # 1 − 5/24
    # 89 whole days and 12 h today: 1 − 18,000 s / 7,732,800 s = 99.7672…% → 99.76 (never rounded up)
    assert history["uptime"] == 99.76
    assert len(history["days"]) == 90
    assert history["days"][-1]["status"] == "operational"


def test_a_status_from_before_the_window_carries_in():
    component = _component()
    now = timezone.now()
    ComponentStatusChange.objects.create(
        component=component, from_status="operational", to_status="major_outage", changed_at=now - timedelta(days=200)
    )

    history = component_history(component_ids=[component.pk], now=now)[component.pk]

    assert history["uptime"] == 0
    assert {day["status"] for day in history["days"]} == {"major_outage"}


def test_recompute_logs_the_change_the_bars_read():
    component = _component()
    incident = declare_incident(component_impacts={component.pk: ComponentStatus.PARTIAL_OUTAGE})
    component.refresh_from_db()

    assert component.status == ComponentStatus.PARTIAL_OUTAGE
    assert component_statuses_recompute(component_ids=[component.pk]) == []  # nothing new to log
    history = component_history(component_ids=[component.pk], now=timezone.now())[component.pk]
    assert history["days"][-1]["status"] == "partial_outage"
    assert incident.pk


@pytest.mark.django_db(transaction=True)
def test_other_pages_and_the_api_say_unavailable_with_the_database_down(client):
    incident = declare_incident()

    with database_down():
        page = client.get(f"/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="en")
        api = client.get("/api/v1/incidents/", HTTP_AUTHORIZATION="Token 0123456789abcdef")
        others = [client.get(path).status_code for path in ("/history/", "/subscribe/")]

    assert page.status_code == 503
    assert "Temporarily unavailable" in page.content.decode()
    assert page["Retry-After"] == "60"
    assert api.status_code == 503
    assert api.json() == {"detail": "Temporarily unavailable; retry shortly."}
    assert others == [503, 503]


def test_compressed_once_and_served_to_clients_that_accept_gzip(client):
    import gzip

    plain = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    packed = client.get("/", HTTP_ACCEPT_LANGUAGE="en", HTTP_ACCEPT_ENCODING="gzip, br")

    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content) / 2
    assert packed["ETag"] != plain["ETag"]
    assert "Accept-Encoding" in packed["Vary"]
    again = client.get("/", HTTP_ACCEPT_LANGUAGE="en", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"])
    assert again.status_code == 304
