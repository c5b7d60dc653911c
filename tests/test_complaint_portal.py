from __future__ import annotations

import pytest
from django.urls import reverse

from complaints.models import Complaint, ComplaintStatus
from complaints.services import complaint_reply
from core import roles
from notifications.models import Notification
from tests.factories import CustomerFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db
NEW = reverse("complaint-new")


@pytest.fixture
def parcel():
    return OrderFactory(
        tracking_number="SF7770000000001", customer=CustomerFactory(phone="+8613800138000", email="wang@example.com")
    )


def form(**overrides):
    return {
        "tracking_number": "sf7770000000001",
        "phone_last4": "8000",
        "reason": "delay",
        "description": "三天没更新了",
        **overrides,
    }


def test_customer_files_with_tracking_number_and_phone_digits_and_lands_on_the_private_page(client, parcel):
    response = client.post(NEW, form())

    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("complaint-detail", args=[complaint.access_token])
    assert (complaint.customer, complaint.order, complaint.channel) == (parcel.customer, parcel, "portal")
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert complaint.reference in page.content.decode()
    assert page["Referrer-Policy"] == "no-referrer"
    assert set(
        Notification.objects.filter(event_key=f"complaint-received:{complaint.pk}").values_list("channel", flat=True)
    ) == {"sms", "email"}


@pytest.mark.parametrize("bad", [{"phone_last4": "8001"}, {"tracking_number": "SF7770000000999"}])
def test_a_wrong_digit_and_an_unknown_parcel_get_the_same_answer_and_file_nothing(client, parcel, bad):
    response = client.post(NEW, form(**bad), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "We could not find a parcel with this tracking number and phone number" in response.content.decode()
    assert not Complaint.objects.exists()


def test_malformed_digits_are_a_field_error(client, parcel):
    response = client.post(NEW, form(phone_last4="80a0"), HTTP_ACCEPT_LANGUAGE="en")

    assert "last four digits" in response.content.decode()
    assert not Complaint.objects.exists()


def test_guessing_is_rate_limited(client, parcel, settings):
    for _ in range(5):
        client.post(NEW, form(phone_last4="0000"))

    response = client.post(NEW, form())

    assert response.status_code == 429
    assert not Complaint.objects.exists()


def test_the_private_page_shows_public_replies_not_notes_and_takes_an_answer(client, parcel):
    client.post(NEW, form())
    complaint = Complaint.objects.get()
    agent = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)
    complaint_reply(complaint_id=complaint.pk, actor=agent, body="内部:疑似分拣错误", internal=True)
    complaint_reply(complaint_id=complaint.pk, actor=agent, body="您好,包裹已安排今天派送")
    url = reverse("complaint-detail", args=[complaint.access_token])

    page = client.get(url).content.decode()
    assert "包裹已安排今天派送" in page
    assert "疑似分拣错误" not in page

    client.post(url, {"body": "还是没有收到"})
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.ASSIGNED
    assert complaint.reply_due_at is not None


def test_a_private_link_shows_only_its_own_complaint(client, parcel):
    client.post(NEW, form())
    other = OrderFactory(customer=CustomerFactory(phone="+8613900139000"))
    client.post(
        NEW,
        {
            "tracking_number": other.tracking_number,
            "phone_last4": "9000",
            "reason": "lost",
            "description": "另一位客户",
        },
    )
    mine, theirs = Complaint.objects.order_by("id")

    page = client.get(reverse("complaint-detail", args=[mine.access_token])).content.decode()

    assert mine.reference in page and theirs.reference not in page and "另一位客户" not in page
    assert client.get(reverse("complaint-detail", args=["not-a-token"])).status_code == 404


def test_the_reply_reaches_the_customer_by_sms_and_email_rows(client, parcel):
    client.post(NEW, form())
    complaint = Complaint.objects.get()

    message = complaint_reply(
        complaint_id=complaint.pk, actor=UserFactory(role=roles.CUSTOMER_SERVICE_AGENT), body="已补发"
    )

    replies = Notification.objects.filter(event_key=f"complaint-reply:{message.pk}")
    assert {row.channel for row in replies} == {"sms", "email"}
    assert all("已补发" in row.body and complaint.reference in row.subject + row.body for row in replies)
