from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from compensation.codes import ALPHABET, new_code, normalize_code
from compensation.models import Coupon, CouponStatus, Redemption
from compensation.services import coupon_redeem, coupon_revoke, coupons_expire
from tests.concurrency import run_together
from tests.factories import CouponFactory, CustomerFactory

pytestmark = pytest.mark.django_db
URL = reverse("api-coupon-redeem")


def test_codes_are_grouped_unambiguous_and_random():
    codes = {new_code() for _ in range(2000)}

    assert len(codes) == 2000
    for code in list(codes)[:50]:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(ALPHABET)
        assert not set("01OIL") & set(code)


def test_a_code_typed_loosely_is_understood():
    assert normalize_code(" abcd efgh-jkmn pqrs ") == "ABCD-EFGH-JKMN-PQRS"


def test_redeem_once_then_refused(integration_client):
    coupon = CouponFactory()
    body = {
        "code": coupon.code.lower().replace("-", " "),
        "customer": coupon.customer.external_id,
        "order_amount": "80.00",
    }

    first = integration_client.post(URL, body, format="json")
    second = integration_client.post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert (first.status_code, first.json()["redeemed"], first.json()["value"]) == (200, True, "20.00")
    assert (second.status_code, second.json()["error"]) == (409, "already_redeemed")
    coupon.refresh_from_db()
    assert (coupon.status, coupon.redeemed_order_amount) == (CouponStatus.REDEEMED, Decimal("80.00"))


def test_a_code_longer_than_any_coupons_is_a_field_error_even_with_a_key(integration_client):
    # "Evaluation dashboard" normalises to 23 characters: a redemption record cannot hold it.
    body = {"code": "Evaluation dashboard", "customer": "C1", "order_amount": "10.00"}

    response = integration_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 400 and "code" in response.json()


@pytest.mark.parametrize(
    ("changes", "amount", "error"),
    [
        ({}, "49.99", "minimum_spend"),
        (
            {"valid_until": timezone.now() - timedelta(minutes=1), "valid_from": timezone.now() - timedelta(days=2)},
            "80",
            "expired",
        ),
        (
            {"valid_from": timezone.now() + timedelta(days=1), "valid_until": timezone.now() + timedelta(days=2)},
            "80",
            "not_yet_valid",
        ),
        ({"status": CouponStatus.REVOKED}, "80", "revoked"),
    ],
)
def test_each_refusal_says_why_and_changes_nothing(changes, amount, error):
    coupon = CouponFactory(**changes)

    answer = coupon_redeem(
        code=coupon.code, customer_external_id=coupon.customer.external_id, order_amount=Decimal(amount)
    )

    assert (answer.status_code, answer.body["error"]) == (409, error)
    assert Coupon.objects.get(pk=coupon.pk).status == changes.get("status", CouponStatus.ISSUED)


def test_a_code_longer_than_any_code_is_refused_not_a_server_error(integration_client):
    coupon = CouponFactory()
    body = {"code": "reply_distribution", "customer": coupon.customer.external_id, "order_amount": "80.00"}

    response = integration_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="long-code-1")

    assert response.status_code == 400
    assert "code" in response.json()


def test_someone_elses_code_looks_like_no_code():
    coupon = CouponFactory()

    theirs = coupon_redeem(
        code=coupon.code, customer_external_id=CustomerFactory().external_id, order_amount=Decimal("80")
    )
    unknown = coupon_redeem(
        code="ZZZZ-ZZZZ-ZZZZ-ZZZZ", customer_external_id=coupon.customer.external_id, order_amount=Decimal("80")
    )

    assert theirs == unknown
    assert theirs.status_code == 404
    assert Coupon.objects.get(pk=coupon.pk).status == CouponStatus.ISSUED


def test_a_retried_request_with_the_same_key_gets_the_first_answer():
    coupon = CouponFactory()
    request = {"code": coupon.code, "customer_external_id": coupon.customer.external_id, "order_amount": Decimal("80")}

    first = coupon_redeem(**request, idempotency_key="order-42-try")
    retry = coupon_redeem(**request, idempotency_key="order-42-try")
    other_key = coupon_redeem(**request, idempotency_key="order-43")

    assert first == retry
    assert first.status_code == 200
    assert other_key.status_code == 409
    assert Redemption.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_redeems_give_one_success_and_forty_nine_refusals():
    coupon = CouponFactory()

    def redeem(index):
        return coupon_redeem(
            code=coupon.code,
            customer_external_id=coupon.customer.external_id,
            order_amount=Decimal("99"),
            idempotency_key=f"attempt-{index}",
        )

    answers = run_together(redeem, 50)

    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 49
    assert {answer.body.get("error") for answer in answers if answer.status_code == 409} == {"already_redeemed"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_request_share_one_answer():
    coupon = CouponFactory()

    def redeem(_index):
        return coupon_redeem(
            code=coupon.code,
            customer_external_id=coupon.customer.external_id,
            order_amount=Decimal("99"),
            idempotency_key="same-request",
        )

    answers = run_together(redeem, 10)

    assert [answer.status_code for answer in answers] == [200] * 10
    assert Redemption.objects.count() == 1


def test_revoke_only_what_is_unredeemed_and_expire_by_beat():
    issued, redeemed, old = (
        CouponFactory(),
        CouponFactory(status=CouponStatus.REDEEMED),
        CouponFactory(valid_from=timezone.now() - timedelta(days=40), valid_until=timezone.now() - timedelta(days=1)),
    )

    assert coupon_revoke(coupon_id=issued.pk, reason="误发") is True
    assert coupon_revoke(coupon_id=redeemed.pk) is False
    assert coupons_expire() == 1
    assert coupons_expire() == 0
    assert Coupon.objects.get(pk=old.pk).status == CouponStatus.EXPIRED
    assert Coupon.objects.get(pk=issued.pk).reason == "误发"


def test_an_agent_cannot_redeem_and_anonymous_is_refused(agent_client, api_client):
    coupon = CouponFactory()
    body = {"code": coupon.code, "customer": coupon.customer.external_id, "order_amount": "80"}

    assert agent_client.post(URL, body, format="json").status_code == 403
    assert api_client.post(URL, body, format="json").status_code == 401
    assert Coupon.objects.get(pk=coupon.pk).status == CouponStatus.ISSUED


def test_supervisor_revokes_from_the_admin_but_a_redeemed_coupon_stays_redeemed(client):
    from core import roles
    from tests.factories import UserFactory

    issued, redeemed = CouponFactory(), CouponFactory(status=CouponStatus.REDEEMED)
    client.force_login(UserFactory(role=roles.SUPERVISOR))

    client.post(
        reverse("admin:compensation_coupon_changelist"),
        {"action": "revoke", "_selected_action": [issued.pk, redeemed.pk]},
    )

    assert Coupon.objects.get(pk=issued.pk).status == CouponStatus.REVOKED
    assert Coupon.objects.get(pk=redeemed.pk).status == CouponStatus.REDEEMED
