"""Monitoring in a real browser: the public status page turning red when Alertmanager posts an
outage, and the admin pages where staff write alert rules and read what arrived, at phone and
desktop width."""

from __future__ import annotations

import urllib.request

import pytest

from components.models import ComponentGroup
from core import roles
from incidents.models import Incident
from monitoring.models import Alert, AlertReceipt, AlertRule
from tests.browser import DESKTOP, PHONE, SCREENSHOTS, chromium, screenshot
from tests.factories import AlertRuleFactory, ServiceComponentFactory, UserFactory
from tests.monitoring import ALERTMANAGER_URL, fixture_body

DEVICES = [("phone", PHONE), ("desktop", DESKTOP)]
PASSWORD = "correct-horse-battery"
RED = "rgb(164, 14, 38)"  # .status-major_outage in static/portal/portal.css


def _post_as_alertmanager(base: str, token: str, body: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310 - the live server, http://
        base + ALERTMANAGER_URL,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status


@pytest.fixture
def tracking_api():
    group = ComponentGroup.objects.create(name_zh="查询服务", name_en="Tracking")
    component = ServiceComponentFactory(name_zh="运单查询接口", name_en="Tracking API", group=group)
    ServiceComponentFactory(name_zh="官方网站", name_en="Website", group=group)
    AlertRuleFactory(name="Tracking API", component=component)
    return component


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("device", "viewport"), DEVICES)
def test_the_status_page_turns_red_when_alertmanager_posts_an_outage(
    live_server, monitoring_token, tracking_api, device, viewport
):
    SCREENSHOTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport=viewport, locale="zh-CN")
        problems: list[str] = []
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.goto(live_server.url + "/")
        assert page.locator("h1").inner_text() == "所有系统运行正常"
        screenshot(page, SCREENSHOTS / f"status-before-alert-{device}.png", full_page=True)

        # Alertmanager's captured notification: TrackingApiDown (critical), TrackingApiHighLatency (warning)
        status = _post_as_alertmanager(live_server.url, monitoring_token, fixture_body("alertmanager/firing.json"))
        page.reload()

        assert status == 200
        assert page.locator("h1").inner_text() == "重大系统故障"
        label = page.locator(".component", has_text="运单查询接口").locator(".status-label")
        assert label.inner_text() == "严重中断"
        assert label.evaluate("element => getComputedStyle(element).color") == RED
        assert page.locator(".banner-critical").count() == 1
        assert page.locator(".incident-card").count() == 0  # the draft incident waits for a person
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, SCREENSHOTS / f"status-alert-{device}.png", full_page=True)
        assert problems == []
        page.close()


@pytest.mark.django_db(transaction=True)
def test_alert_rules_and_received_alerts_in_the_admin_at_phone_and_desktop_width(
    live_server, monitoring_token, tracking_api
):
    supervisor = UserFactory(role=roles.SUPERVISOR)
    _post_as_alertmanager(live_server.url, monitoring_token, fixture_body("alertmanager/firing.json"))
    _post_as_alertmanager(live_server.url, monitoring_token, fixture_body("alertmanager/resolved.json"))
    pages = {
        "incident": f"/admin/incidents/incident/{Incident.objects.get().pk}/change/",
        "rules": "/admin/monitoring/alertrule/",
        "rule": f"/admin/monitoring/alertrule/{AlertRule.objects.get().pk}/change/",
        "alerts": "/admin/monitoring/alert/",
        "alert": f"/admin/monitoring/alert/{Alert.objects.get(alertname='TrackingApiDown').pk}/change/",
        "received": "/admin/monitoring/alertreceipt/",
        "receipt": f"/admin/monitoring/alertreceipt/{AlertReceipt.objects.order_by('pk').first().pk}/change/",
    }
    SCREENSHOTS.mkdir(exist_ok=True)
    with chromium() as browser:
        for device, viewport in DEVICES:
            page = browser.new_page(viewport=viewport, locale="zh-CN")
            page.goto(live_server.url + "/admin/login/")
            page.fill("#id_username", supervisor.username)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_load_state()
            for name, path in pages.items():
                response = page.goto(live_server.url + path)
                assert response is not None and response.status == 200, path
                screenshot(page, SCREENSHOTS / f"admin-monitoring-{name}-{device}.png", full_page=True)
            page.goto(live_server.url + pages["received"])
            assert "TrackingApiDown" in page.locator("#result_list").inner_text()
            page.goto(live_server.url + pages["incident"])
            assert "监控告警已恢复" in page.content()  # the internal row suggesting a person resolve it
            page.close()
