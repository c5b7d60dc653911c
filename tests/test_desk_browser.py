"""Desk and portal pages in a real browser at phone and desktop width: an internal incident's
desk with its Publish button, the complaint page with the coupons already given, and the
parcel lookup's cool-down message."""

from __future__ import annotations

from decimal import Decimal

import pytest

from compensation.approvals import compensation_goodwill
from complaints.services import complaint_file
from core import roles
from tests.browser import DESKTOP, PHONE, SCREENSHOTS, chromium, screenshot
from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident

PASSWORD = "correct-horse-battery"


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
def test_internal_incident_desk_and_complaint_coupons_at_phone_and_desktop_width(live_server):
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)
    incident = declare_incident(actor=manager, publish=False, title_zh="数据泄露排查")
    order = OrderFactory()
    complaint = complaint_file(
        customer=order.customer, order=order, reason="delay", description="延误", channel="phone"
    )
    compensation_goodwill(complaint=complaint, actor=agent, value=Decimal("15"))
    SCREENSHOTS.mkdir(exist_ok=True)
    with chromium() as browser:
        for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page = browser.new_page(viewport=viewport, locale="zh-CN")
            _sign_in(page, live_server.url, manager.username)
            page.goto(f"{live_server.url}/admin/incidents/incident/{incident.pk}/change/")
            assert page.locator(".desk-publish button").is_visible()
            screenshot(page, SCREENSHOTS / f"incident-internal-{name}.png", full_page=True)
            page.context.clear_cookies()
            _sign_in(page, live_server.url, agent.username)
            page.goto(f"{live_server.url}/admin/complaints/complaint/{complaint.pk}/change/")
            assert "¥15.00" in page.locator(".goodwill-coupons").inner_text()
            screenshot(page, SCREENSHOTS / f"complaint-goodwill-{name}.png", full_page=True)
            page.close()


@pytest.mark.django_db(transaction=True)
def test_lookup_cool_down_message_at_phone_width(live_server, settings):
    settings.LOOKUPS_PER_TRACKING_NUMBER = 1
    OrderFactory(tracking_number="SF5550000000001", customer=CustomerFactory(phone="+8613800131234"))
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        for digits in ("0000", "1234"):
            page.goto(live_server.url + "/track/")
            page.fill("#id_tracking_number", "SF5550000000001")
            page.fill("#id_phone_last4", digits)
            page.locator("form.portal-form button[type=submit]").click()
            page.wait_for_load_state()
        # Who answered wrongly waits out the window (10 minutes), and is told so.
        assert "10" in page.locator(".form-error").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, SCREENSHOTS / "lookup-cool-down-phone.png", full_page=True)
