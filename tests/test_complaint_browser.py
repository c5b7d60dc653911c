"""A customer files a complaint on a phone and follows it; an agent answers."""

from __future__ import annotations

import pytest

from complaints.models import Complaint
from complaints.services import complaint_reply
from core import roles
from tests.browser import PHONE, SCREENSHOTS, chromium
from tests.factories import CustomerFactory, OrderFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_customer_files_a_complaint_on_a_phone_and_reads_the_reply(live_server):
    OrderFactory(tracking_number="SF8880000000001", customer=CustomerFactory(phone="+8613800135678"))
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.goto(live_server.url + "/")
        page.get_by_role("link", name="我要投诉").click()
        page.fill("#id_tracking_number", "sf8880000000001")
        page.fill("#id_phone_last4", "5678")
        page.select_option("#id_reason", "delay")
        page.fill("#id_description", "包裹延误三天了")
        page.get_by_role("button", name="提交投诉").click()
        page.wait_for_load_state()

        complaint = Complaint.objects.get()
        assert complaint.reference in page.locator("h1").inner_text()
        complaint_reply(
            complaint_id=complaint.pk, actor=UserFactory(role=roles.CUSTOMER_SERVICE_AGENT), body="已为您加急派送"
        )
        page.reload()
        assert "已为您加急派送" in page.locator(".conversation").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=SCREENSHOTS / "complaint-phone.png", full_page=True)
