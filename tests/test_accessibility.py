"""Every public page, and every state a customer reaches, passes axe-core's WCAG 2.1 A/AA rules
in Chinese and in English, on a phone (390 px) and a desktop (1280 px).

One browser for the module and one page per language: each state is reached once, as a
customer would reach it, and checked at both widths by resizing the same page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

from complaints.models import ComplaintChannel, Reason
from complaints.services import complaint_file, complaint_reply
from components.models import ServiceComponent
from core import roles
from incidents.services import incident_transition
from notifications.messages import unsubscribe_url
from notifications.models import EventType, Notification, StatusSubscription
from notifications.subscriptions import signed_link
from tests.accessibility import axe_source, axe_violations
from tests.browser import DESKTOP, PHONE, chromium
from tests.factories import MaintenanceFactory, UserFactory, declare_incident, typhoon_outage

LANGUAGES = {"zh": "zh-CN", "en": "en-GB"}
WIDTHS = {"390 px": PHONE, "1280 px": DESKTOP}


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def portal_in_an_outage():
    """The typhoon outage with its delayed, compensated parcel; a past incident; a maintenance; a complaint answered."""
    incident, order = typhoon_outage()
    ServiceComponent.objects.create(name_zh="运单查询", name_en="Parcel tracking")
    manager = UserFactory(role=roles.SUPERVISOR)
    past = declare_incident(actor=manager, title_zh="分拣线停机", title_en="Sorting line stopped")
    incident_transition(incident_id=past.pk, action="resolve", actor=manager)
    maintenance = MaintenanceFactory()
    maintenance.components.add(*incident.components.all())
    complaint = complaint_file(
        customer=order.customer,
        order=order,
        reason=Reason.DELAY,
        description="包裹延误三天了",
        channel=ComplaintChannel.PORTAL,
    )
    complaint_reply(
        complaint_id=complaint.pk, actor=UserFactory(role=roles.CUSTOMER_SERVICE_AGENT), body="已为您加急派送"
    )
    return {"incident": incident, "complaint": complaint, "customer": order.customer}


def _submit(page, **fields: str) -> None:  # type: ignore[no-untyped-def]
    for name, value in fields.items():
        page.fill(f"#id_{name}", value)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()


def _from_outbox(event_type: str, path: str, server: str) -> str:
    body = Notification.objects.filter(event_type=event_type).latest("id").body
    link = next(word for word in body.split() if path in word)
    return link.replace(settings.PUBLIC_BASE_URL, server)


def _journey(page, server: str, data: dict[str, Any], language: str) -> list[tuple[str, Callable[[], object], str]]:  # type: ignore[no-untyped-def]
    """(state, how a customer gets there, what shows it is there), in the order they meet them."""
    parcel = {"tracking_number": "SF7770000000001"}

    def subscription_link(action: str) -> str:
        return signed_link(StatusSubscription.objects.latest("id"), action).replace(settings.PUBLIC_BASE_URL, server)

    return [
        ("status page", lambda: page.goto(server + "/"), ".incident-card"),
        ("history", lambda: page.goto(server + "/history/"), ".history-list"),
        ("incident page", lambda: page.goto(f"{server}/incidents/{data['incident'].pk}/"), "main h1"),
        ("lookup form", lambda: page.goto(server + "/track/"), "#id_phone_last4"),
        ("lookup, fields wrong", lambda: _submit(page, tracking_number="", phone_last4="12"), ".field .form-error"),
        ("lookup, not found", lambda: _submit(page, **parcel, phone_last4="9999"), "[role=alert]"),
        ("lookup result", lambda: _submit(page, **parcel, phone_last4="4321"), ".parcel-result .next-steps"),
        ("complaint form", lambda: page.goto(server + "/complaints/new/"), "#id_description"),
        ("complaint form, fields wrong", lambda: _submit(page, **parcel, phone_last4="4321"), ".field .form-error"),
        (
            "complaint page",
            lambda: page.goto(f"{server}/complaints/{data['complaint'].access_token}/"),
            ".conversation",
        ),
        ("subscribe form", lambda: page.goto(server + "/subscribe/"), "#id_email"),
        (
            "subscribe, bad number",
            lambda: (page.check("input[value=sms]"), _submit(page, phone="555")),
            ".field .form-error",
        ),
        ("subscribe, code asked", lambda: _submit(page, phone="138 0013 8000"), "#id_code"),
        ("subscribe, wrong code", lambda: _submit(page, code="000000"), ".field .form-error"),
        (
            "subscribe, email sent",
            lambda: (page.goto(server + "/subscribe/"), _submit(page, email=f"{language}@example.com")),
            "main h1",
        ),
        (
            "subscribe, confirm link",
            lambda: page.goto(_from_outbox(EventType.STATUS_CONFIRM, "/subscribe/confirm/", server)),
            "main form button",
        ),
        ("subscribed", lambda: _submit(page), "main h1"),
        ("notices, stop link", lambda: page.goto(subscription_link("cancel")), "main form button"),
        ("notices stopped", lambda: _submit(page), "main a[href='/']"),
        ("link not valid", lambda: page.goto(server + "/subscribe/confirm/not-a-token/"), "main h1"),
        (
            "parcel messages, unsubscribe link",
            lambda: page.goto(unsubscribe_url(data["customer"].pk, "email").replace(settings.PUBLIC_BASE_URL, server)),
            "main form button",
        ),
        ("parcel messages stopped", lambda: _submit(page), "main h1"),
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_public_page_and_state_passes_wcag_21_aa(browser, live_server, portal_in_an_outage, language):
    context = browser.new_context(locale=LANGUAGES[language], viewport=PHONE)
    context.add_init_script(script=axe_source())
    page = context.new_page()
    violations: dict[str, list[str]] = {}
    reached: list[str] = []

    for state, reach, sign in _journey(page, live_server.url, portal_in_an_outage, language):
        page.set_viewport_size(PHONE)
        reach()
        page.wait_for_load_state()
        assert page.locator(sign).count() >= 1, f"{state}: not reached ({page.url})"
        reached.append(state)
        for width, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            found = axe_violations(page)
            if found:
                violations[f"{state} at {width}"] = found

    context.close()
    assert len(reached) == 22
    assert violations == {}
