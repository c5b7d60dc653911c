"""The public portal as a person sees it, on a phone and a desktop, in real Chromium.

Each test keeps screenshots in ``screenshots/`` and fails on any Content-Security-Policy
violation or script error the page reports.
"""

from __future__ import annotations

import pytest

from components.models import ServiceComponent
from notifications.models import EventType, Notification
from tests.browser import DESKTOP, PHONE, SCREENSHOTS, chromium
from tests.factories import typhoon_outage

DEVICES = [("phone", PHONE), ("desktop", DESKTOP)]


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def _open(browser, viewport, locale="zh-CN"):
    page = browser.new_page(viewport=viewport, locale=locale)
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, problems


def _fits(page, viewport) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@pytest.fixture
def outage():
    ServiceComponent.objects.create(name_zh="运单查询", name_en="Parcel tracking")
    return typhoon_outage(minimum_spend="30")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("device", "viewport"), DEVICES)
def test_status_page_shows_the_outage_in_chinese_and_switches_to_english(
    browser, live_server, outage, device, viewport
):
    incident, _order = outage
    page, problems = _open(browser, viewport)
    page.goto(live_server.url + "/")

    assert page.locator("h1").inner_text() == "重大系统故障"
    assert "台风:广州白云转运中心暂停作业" in page.locator(".incident-card").inner_text()
    assert "包裹改由深圳中转。" in page.locator(".incident-card").inner_text()
    assert page.locator(".component").count() == 2
    assert "近90天可用率" in page.locator(".component .visually-hidden").first.inner_text()
    assert _fits(page, viewport)
    page.screenshot(path=SCREENSHOTS / f"status-{device}-zh.png", full_page=True)

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()

    assert page.locator("h1").inner_text() == "Major System Outage"
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Parcels now go through Shenzhen." in page.locator(".incident-card").inner_text()
    page.screenshot(path=SCREENSHOTS / f"status-{device}-en.png", full_page=True)

    page.get_by_role("link", name=incident.title_en).click()
    page.wait_for_load_state()
    assert "Guangzhou Baiyun hub" in page.content()
    page.screenshot(path=SCREENSHOTS / f"incident-{device}-en.png", full_page=True)
    page.emulate_media(media="print")
    assert page.locator(".language-switch").is_hidden()
    page.screenshot(path=SCREENSHOTS / f"incident-{device}-en-print.png", full_page=True)
    page.emulate_media(media="screen")
    page.goto(live_server.url + "/history/")
    page.screenshot(path=SCREENSHOTS / f"history-{device}-en.png", full_page=True)
    assert problems == []
    page.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("device", "viewport"), DEVICES)
def test_parcel_lookup_with_wrong_then_right_digits(browser, live_server, outage, device, viewport):
    _incident, order = outage
    page, problems = _open(browser, viewport)
    page.goto(live_server.url + "/track/")

    page.fill("#id_tracking_number", "SF7770000000001")
    page.fill("#id_phone_last4", "9999")
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()
    assert page.locator(".form-error").count() == 1
    assert "王" not in page.content()
    page.screenshot(path=SCREENSHOTS / f"track-{device}-wrong.png", full_page=True)

    page.fill("#id_phone_last4", "4321")
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    assert "台风:广州白云转运中心暂停作业" in text
    assert "王*" in text
    assert "13800134321" not in page.content()
    assert order.coupons.get().code in page.locator(".next-steps").inner_text()
    assert _fits(page, viewport)
    page.screenshot(path=SCREENSHOTS / f"track-{device}-found.png", full_page=True)
    page.emulate_media(media="print")
    assert page.locator(".site-footer").is_hidden()
    assert "接下来会怎样" in page.locator(".parcel-result").inner_text()
    page.screenshot(path=SCREENSHOTS / f"track-{device}-print.png", full_page=True)
    assert problems == []
    page.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("device", "viewport"), DEVICES)
def test_subscribing_by_email_needs_the_link_in_the_email(browser, live_server, device, viewport):
    ServiceComponent.objects.create(name_zh="运单查询", name_en="Parcel tracking")
    page, problems = _open(browser, viewport, locale="en-GB")
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Get status notices").click()
    page.wait_for_load_state()
    page.screenshot(path=SCREENSHOTS / f"subscribe-{device}.png", full_page=True)

    assert page.locator("#id_phone").is_hidden()  # only the chosen channel's address is asked for
    page.get_by_role("radio", name="SMS").check()
    assert page.locator("#id_email").is_hidden()
    assert page.locator("#id_phone").is_visible()
    page.fill("#id_phone", "555")
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_load_state()
    assert "+1 202 555 0123" in page.locator(".field .form-error").inner_text()  # an example the form accepts
    page.screenshot(path=SCREENSHOTS / f"subscribe-{device}-wrong-number.png", full_page=True)
    page.get_by_role("radio", name="Email").check()
    page.fill("#id_email", f"ops-{device}@example.com")
    page.get_by_label("Parcel tracking").check()
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Check your inbox"

    confirmation = Notification.objects.get(event_type=EventType.STATUS_CONFIRM)
    link = next(word for word in confirmation.body.split() if "/subscribe/confirm/" in word)
    page.goto(link.replace("http://127.0.0.1:8000", live_server.url))
    assert confirmation.subscription.confirmed_at is None  # opening the link is not enough
    page.get_by_role("button", name="Yes, send me status notices").click()
    page.wait_for_load_state()

    assert page.locator("h1").inner_text() == "You are subscribed"
    confirmation.subscription.refresh_from_db()
    assert confirmation.subscription.is_active
    assert _fits(page, viewport)
    page.screenshot(path=SCREENSHOTS / f"subscribed-{device}.png", full_page=True)
    assert problems == []
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
