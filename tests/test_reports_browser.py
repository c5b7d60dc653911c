"""A supervisor reads the dashboard and a post-incident report with a real browser, on a desk and a phone."""

from __future__ import annotations

import pytest

from core import roles
from tests import report_data
from tests.browser import DESKTOP, PHONE, SCREENSHOTS, chromium, screenshot
from tests.factories import UserFactory


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("device", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_supervisor_reads_the_dashboard_and_a_report(browser, live_server, device, viewport):
    data = report_data.build()
    supervisor = UserFactory(role=roles.SUPERVISOR, username=f"supervisor-{device}")
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")

    screenshot(page, SCREENSHOTS / f"reports-admin-index-{device}.png")
    page.get_by_role("link", name="量化评估看板").click()
    page.fill("#id_start", report_data.START.isoformat())
    page.fill("#id_end", report_data.END.isoformat())
    page.get_by_role("button", name="查看").click()
    page.wait_for_load_state()

    cards = page.locator(".report-cards").inner_text()
    assert "50%" in cards and "33%" in cards and "¥40.00" in cards
    assert page.locator("svg.report-chart").count() == 5
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
    screenshot(page, SCREENSHOTS / f"reports-dashboard-{device}.png", full_page=True)

    page.locator("#reports").get_by_role("link", name=data.incidents["A"].reference).click()
    page.wait_for_load_state()
    assert "事后报告" in page.locator("h1").inner_text()
    assert "K2" in page.locator("#impact").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
    screenshot(page, SCREENSHOTS / f"reports-incident-{device}.png", full_page=True)
    page.close()
