"""An incident manager works an incident in the admin with a real browser."""

from __future__ import annotations

import pytest

from core import roles
from incidents.models import AffectedOrder, Incident
from tests.browser import DESKTOP, PHONE, SCREENSHOTS, chromium
from tests.factories import OrderFactory, UserFactory, declare_incident


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("device", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_manager_acknowledges_posts_an_update_and_links_parcels(browser, live_server, device, viewport):
    manager = UserFactory(role=roles.INCIDENT_MANAGER, username=f"manager-{device}")
    incident = declare_incident(actor=manager, title_zh="上海转运中心分拣线停机")
    OrderFactory.create_batch(4, hub="上海转运中心")
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/incidents/incident/{incident.pk}/change/")

    page.get_by_role("button", name="确认接报").click()
    page.wait_for_load_state()
    assert Incident.objects.get(pk=incident.pk).status == "acknowledged"

    page.fill("#update_body_zh", "已安排备用分拣线,预计两小时内恢复。")
    page.get_by_role("button", name="发布进展").click()
    page.wait_for_load_state()
    assert "已安排备用分拣线" in page.locator("#timeline").inner_text()

    page.select_option("#criteria_hubs", ["上海转运中心"])
    page.get_by_role("button", name="统计匹配订单").click()
    page.wait_for_load_state()
    assert "匹配 4 个订单" in page.locator(".desk-preview").inner_text()
    page.select_option("#criteria_hubs", ["上海转运中心"])
    page.fill("#criteria_delay_hours", "24")
    page.get_by_role("button", name="关联", exact=True).click()
    page.wait_for_load_state()

    assert AffectedOrder.objects.filter(incident=incident).count() == 4
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
    page.screenshot(path=SCREENSHOTS / f"incident-desk-{device}.png", full_page=True)
    page.close()
