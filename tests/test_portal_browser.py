"""The portal and the admin sign-in as a person sees them, on a phone and a desktop."""

from __future__ import annotations

import pytest

from tests.browser import DESKTOP, PHONE, SCREENSHOTS, chromium


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("device", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_home_page_is_chinese_for_a_chinese_browser_and_switches_to_english(browser, live_server, device, viewport):
    page = browser.new_page(viewport=viewport, locale="zh-CN")
    page.goto(live_server.url + "/")

    assert page.locator("h1").inner_text() == "服务状态"
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=SCREENSHOTS / f"home-{device}-zh.png", full_page=True)

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()

    assert page.locator("h1").inner_text() == "Service status"
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=SCREENSHOTS / f"home-{device}-en.png", full_page=True)
    page.close()


@pytest.mark.django_db(transaction=True)
def test_admin_sign_in_reaches_the_workspace(browser, live_server, admin_user):
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(live_server.url + "/admin/")
    page.screenshot(path=SCREENSHOTS / "admin-login-desktop.png")

    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_load_state()

    assert "快递异常应急工作台" in page.title()
    assert page.get_by_role("link", name="订单", exact=True).count() >= 1
    page.screenshot(path=SCREENSHOTS / "admin-index-desktop.png", full_page=True)
    page.close()
