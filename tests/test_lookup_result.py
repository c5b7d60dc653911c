"""What the lookup result tells a customer, read from the page as they would (portal/lookup_result.py
writes the sentences, portal/lookup_page.py the page, in the layout of templates/portal/track_result.html)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import RequestContext, Template, TemplateSyntaxError
from django.template.loader import render_to_string
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from compensation.models import CouponStatus
from core import roles
from incidents.criteria import Estimate, LinkCriteria
from incidents.linking import incident_link_orders
from incidents.models import AffectedOrder, Incident, IncidentStatus
from notifications.models import Notification, Status
from orders.models import Order
from portal.templatetags import portal_layout
from tests.factories import CustomerFactory, OrderFactory, UserFactory, declare_incident, typhoon_outage

pytestmark = pytest.mark.django_db
TRACK = reverse("track")


def _result(client, tracking_number: str, digits: str, language: str = "en") -> str:
    response = client.post(
        TRACK, {"tracking_number": tracking_number, "phone_last4": digits}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    return response.content.decode()


def _minute(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _delayed_without_coupon(*, tracking_number: str, estimate: Estimate) -> Incident:
    manager = UserFactory(role=roles.SUPERVISOR)
    incident = declare_incident(actor=manager, title_en="Sorting line stopped", title_zh="分拣线停机")
    OrderFactory(tracking_number=tracking_number, hub="杭州转运中心", customer=CustomerFactory(phone="+8613800137777"))
    incident_link_orders(
        incident=incident, criteria=LinkCriteria(hubs=["杭州转运中心"]), estimate=estimate, actor=manager
    )
    return incident


def test_a_parcel_no_incident_touched_shows_its_promise_and_nothing_to_do(client):
    order = OrderFactory(tracking_number="SF5550000000001", customer=CustomerFactory(phone="+8613800131111"))

    page = _result(client, "SF5550000000001", "1111")

    assert f"No incident affects this parcel. Promised {_minute(order.promised_delivery)}." in page
    assert "Nothing for you to do: it should arrive as promised." in page
    assert "If compensation is offered" not in page
    assert f'<a href="{reverse("complaint-new")}">File a complaint</a>' in page


def test_a_delayed_parcel_says_when_it_now_comes_and_how_to_use_its_coupon(client):
    _incident, order = typhoon_outage(tracking_number="SF5550000000002")
    link, coupon = order.incident_links.get(), order.coupons.get()

    page = _result(client, "SF5550000000002", "4321")

    assert f"We are delivering it as soon as we can and now expect it by {_minute(link.new_estimate)}." in page
    assert "If this changes, we tell you by text message and email." in page
    until = timezone.localtime(coupon.valid_until).strftime("%Y-%m-%d")
    assert (
        f"To make up for the delay, enter code {coupon.code} at checkout for ¥{coupon.value} off your next order, "
        f"until {until}." in page
    )
    assert "Nothing for you to do" not in page and "If compensation is offered" not in page


def test_a_coupon_with_a_minimum_spend_says_so(client):
    _incident, order = typhoon_outage(tracking_number="SF5550000000003", minimum_spend="50")
    coupon = order.coupons.get()

    page = _result(client, "SF5550000000003", "4321")

    assert (
        f"enter code {coupon.code} at checkout for ¥{coupon.value} off an order of ¥{coupon.minimum_spend} or more"
        in page
    )


def test_a_coupon_already_used_is_listed_but_not_offered_again(client):
    _incident, order = typhoon_outage(tracking_number="SF5550000000004")
    coupon = order.coupons.get()
    type(coupon).objects.filter(pk=coupon.pk).update(status=CouponStatus.REDEEMED)

    page = _result(client, "SF5550000000004", "4321")

    assert coupon.code in page  # in the parcel's coupons, with its status
    assert "To make up for the delay" not in page
    assert "If compensation is offered" not in page  # it was offered


def test_a_delay_without_estimate_or_coupon_says_what_we_will_tell_and_send(client):
    _delayed_without_coupon(tracking_number="SF5550000000005", estimate=Estimate())  # no new time yet

    page = _result(client, "SF5550000000005", "7777")

    assert "Delayed: " in page
    assert "Now expected" not in page
    assert (
        "We are delivering it as soon as we can; we will tell you the new delivery time as soon as we know it." in page
    )
    assert (
        "If compensation is offered for this delay, we send you a coupon by text message and email, "
        "and it shows here." in page
    )


@pytest.mark.parametrize(
    ("sent", "sentence"), [(0, None), (1, "We sent you 1 message about it."), (2, "We sent you 2 messages about it.")]
)
def test_the_result_counts_the_messages_sent_about_the_delay(client, sent, sentence):
    incident, order = typhoon_outage(tracking_number="SF5550000000008")
    messages = Notification.objects.filter(customer=order.customer, incident=incident).order_by("pk")
    Notification.objects.filter(pk__in=list(messages.values_list("pk", flat=True)[:sent])).update(status=Status.SENT)
    assert messages.filter(status=Status.SENT).count() == sent

    page = _result(client, "SF5550000000008", "4321")

    assert ("We sent you" in page) == bool(sentence)
    assert sentence is None or sentence in page


def test_an_incident_that_is_over_reads_was_delayed_and_promises_nothing_more(client):
    incident = _delayed_without_coupon(tracking_number="SF5550000000006", estimate=Estimate(delay=timedelta(hours=6)))
    Incident.objects.filter(pk=incident.pk).update(status=IncidentStatus.RESOLVED)
    link = AffectedOrder.objects.get(incident=incident)

    page = _result(client, "SF5550000000006", "7777")

    assert f'Was delayed: <a href="{reverse("incident-page", args=[incident.pk])}">Sorting line stopped</a>' in page
    assert f"<strong>{_minute(link.new_estimate)}</strong>" in page
    assert "We are delivering it as soon as we can" not in page


def test_a_parcel_two_incidents_delayed_lists_the_newest_first_and_counts_both_incidents_messages(client):
    older = _delayed_without_coupon(tracking_number="SF5550000000009", estimate=Estimate(delay=timedelta(hours=6)))
    Incident.objects.filter(pk=older.pk).update(reported_at=timezone.now() - timedelta(hours=3))
    newer = declare_incident(actor=UserFactory(role=roles.SUPERVISOR), title_en="Hub flooded", title_zh="转运中心进水")
    incident_link_orders(
        incident=newer, criteria=LinkCriteria(hubs=["杭州转运中心"]), actor=UserFactory(role=roles.SUPERVISOR)
    )
    Notification.objects.filter(incident__in=[older, newer]).update(status=Status.DELIVERED)
    sent = Notification.objects.filter(incident__in=[older, newer]).count()

    page = _result(client, "SF5550000000009", "7777")

    assert page.index("Hub flooded") < page.index("Sorting line stopped")
    assert sent >= 2 and f"We sent you {sent} messages about it." in page


def test_the_result_speaks_chinese_to_a_chinese_browser(client):
    _incident, order = typhoon_outage(tracking_number="SF5550000000007")
    link = order.incident_links.get()

    page = _result(client, "SF5550000000007", "4321", language="zh-CN")

    assert f"我们正在尽快为您派送,现预计 {_minute(link.new_estimate)} 前送达。" in page
    assert "如有变化,我们会通过短信和邮件通知您。" in page
    assert "收件人 王*" in page
    assert "We are delivering" not in page


def test_every_value_on_the_result_page_is_escaped(client):
    hostile = "<script>alert('x')</script> & \"quoted\""
    _delayed_without_coupon(tracking_number="SF5550000000010", estimate=Estimate())
    Incident.objects.update(title_en=hostile)
    Order.objects.filter(tracking_number="SF5550000000010").update(origin_city="<b>Hangzhou</b>")

    page = _result(client, "SF5550000000010", "7777")

    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page
    assert "&lt;b&gt;Hangzhou&lt;/b&gt; →" in page
    assert "<script>" not in page and "<b>" not in page


def test_the_result_page_has_the_portals_layout_in_the_customers_language(client):
    OrderFactory(tracking_number="SF5550000000011", customer=CustomerFactory(phone="+8613800131111"))
    form_page = client.get(TRACK, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    page = _result(client, "SF5550000000011", "1111", language="zh-CN")

    header, footer = form_page.split("<main")[0], form_page.split("</main>")[1]
    assert page.split("<title>")[0] == header.split("<title>")[0]
    assert page.split("</title>")[1].split("<main")[0] == header.split("</title>")[1]
    assert page.split("</main>")[1] == footer
    assert "<title>您的包裹 SF5550000000011 · 快递服务</title>" in page


def _frame_request(path: str):
    return RequestFactory().post(path)


def test_a_page_frame_is_the_page_cut_at_its_slots_kept_once_per_language_and_url():
    request = _frame_request("/track/")
    with translation.override("en"):
        frame = portal_layout.page_frame(request, "portal/track_result.html", ("title", "content"))
        again = portal_layout.page_frame(request, "portal/track_result.html", ("title", "content"))
        whole = render_to_string("portal/track_result.html", {"title": "T", "content": "C"}, request)
    with translation.override("zh-hans"):
        chinese = portal_layout.page_frame(request, "portal/track_result.html", ("title", "content"))

    assert frame[0] + "T" + frame[1] + "C" + frame[2] == whole
    assert again is frame  # kept, not rendered again
    assert chinese != frame and 'lang="zh-hans"' in chinese[0]
    for number in range(portal_layout.MAX_FRAGMENTS):
        portal_layout.page_frame(_frame_request(f"/track/?n={number}"), "portal/track_result.html", ("title",))
    assert len(portal_layout._kept) <= portal_layout.MAX_FRAGMENTS


@pytest.mark.parametrize("source", ["{{ title }}", "{{ content }}{{ title }}", "{{ title }}{{ content }}{{ title }}"])
def test_a_page_frame_whose_template_does_not_write_each_slot_once_in_order_is_refused(source):
    engine = {"BACKEND": "django.template.backends.django.DjangoTemplates", "OPTIONS": {}}
    engine["OPTIONS"]["loaders"] = [("django.template.loaders.locmem.Loader", {"frame.html": source})]
    with override_settings(TEMPLATES=[engine]), pytest.raises(TemplateSyntaxError):
        portal_layout.page_frame(_frame_request("/"), "frame.html", ("title", "content"))


def _rendered(template: Template, path: str, count: object, language: str = "en") -> str:
    with translation.override(language):
        return template.render(RequestContext(RequestFactory().get(path), {"count": count}))


def test_a_fragment_is_rendered_once_per_language_and_url_and_their_number_is_bounded():
    template = Template(
        "{% load portal_layout %}{% once_per_process probe url %}{{ request.get_full_path }} {{ count }}"
        "{% endonce_per_process %}"
    )

    first = _rendered(template, "/track/", 1)
    again = _rendered(template, "/track/", 2)
    chinese = _rendered(template, "/track/", 3, language="zh-hans")
    other = _rendered(template, "/history/?page=2", 4)
    for number in range(portal_layout.MAX_FRAGMENTS):
        _rendered(template, f"/track/?n={number}", 5)
    after_the_bound = _rendered(template, "/track/", 6)

    assert (first, again, chinese, other) == ("/track/ 1", "/track/ 1", "/track/ 3", "/history/?page=2 4")
    assert len(portal_layout._kept) <= portal_layout.MAX_FRAGMENTS
    assert after_the_bound == "/track/ 6"  # forgotten with the rest when the bound was reached


@pytest.mark.parametrize(
    "source",
    [
        "{% once_per_process probe %}{% block title %}{% endblock %}{% endonce_per_process %}",
        "{% once_per_process probe lang %}x{% endonce_per_process %}",
        "{% once_per_process %}x{% endonce_per_process %}",
    ],
)
def test_a_fragment_that_cannot_be_kept_is_refused_when_the_template_loads(source):
    with pytest.raises(TemplateSyntaxError):
        Template("{% load portal_layout %}" + source)
