"""The webhook endpoint and chat pages in a real browser, at phone and desktop width: a
supervisor registers a merchant's endpoint, reads its secret once, and adds a team chat."""

from __future__ import annotations

import pytest

from core import roles
from notifications.models import ChatDestination, WebhookEndpoint
from orders.models import Merchant
from tests.browser import DESKTOP, PHONE, SCREENSHOTS, chromium, screenshot
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
def test_a_supervisor_registers_an_endpoint_sees_its_secret_once_and_adds_a_chat(live_server):
    supervisor = UserFactory(role=roles.SUPERVISOR, is_staff=True)
    shop = Merchant.objects.create(code="SHOP-1", name="一号店")
    SCREENSHOTS.mkdir(exist_ok=True)
    with chromium() as browser:
        for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page = browser.new_page(viewport=viewport, locale="zh-CN")
            _sign_in(page, live_server.url, supervisor.username)
            page.goto(f"{live_server.url}/admin/notifications/webhookendpoint/add/")
            page.fill("#id_name", f"一号店订单系统 {name}")
            page.fill("#id_url", "https://shop.example.com/hooks")
            page.fill("#id_merchant", str(shop.pk))
            page.check("input[value='order.affected']")
            page.check("input[value='coupon.issued']")
            screenshot(page, SCREENSHOTS / f"webhook-endpoint-add-{name}.png", full_page=True)
            page.click("input[name=_save]")
            page.wait_for_load_state()
            endpoint = WebhookEndpoint.objects.get(name=f"一号店订单系统 {name}")
            assert endpoint.secret in page.content()
            screenshot(page, SCREENSHOTS / f"webhook-endpoint-secret-{name}.png", full_page=True)
            page.goto(f"{live_server.url}/admin/notifications/webhookendpoint/{endpoint.pk}/change/")
            assert endpoint.secret not in page.content()
            page.goto(f"{live_server.url}/admin/notifications/chatdestination/add/")
            page.fill("#id_name", f"值班群 {name}")
            page.fill("#id_apprise_url", "json://127.0.0.1:9/chat")
            screenshot(page, SCREENSHOTS / f"chat-add-{name}.png", full_page=True)
            page.click("input[name=_save]")
            page.wait_for_load_state()
            assert ChatDestination.objects.filter(name=f"值班群 {name}").exists()
            screenshot(page, SCREENSHOTS / f"chat-list-{name}.png", full_page=True)
            page.close()
