"""Public endpoints under abuse: IPv6 rotation, lockouts of the real owner, sign-in per account."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from core import ratelimit
from core.ratelimit import LOGIN_FAILURES_PER_ACCOUNT
from tests.factories import CustomerFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db
TRACK = "/track/"


@pytest.fixture
def parcel():
    return OrderFactory(tracking_number="SF7770000000001", customer=CustomerFactory(phone="+8613800134321"))


def _lookup(address: str, digits: str, number: str = "SF7770000000001"):
    return Client(REMOTE_ADDR=address).post(TRACK, {"tracking_number": number, "phone_last4": digits})


def test_rotating_addresses_within_one_ipv6_64_shares_one_limit(settings, parcel):
    settings.LOOKUPS_PER_IP = 3
    answers = [_lookup(f"2001:db8:1:2::{n:x}", "4321").status_code for n in range(1, 5)]
    other_network = _lookup("2001:db8:1:3::1", "4321").status_code

    assert answers == [200, 200, 200, 429]
    assert other_network == 200


def test_a_strangers_wrong_lookups_keep_the_owner_out_only_for_the_cool_down(settings, monkeypatch, parcel):
    monkeypatch.setattr(ratelimit, "PROOF_COOLDOWN_SECONDS", 1)
    for attempt in range(settings.LOOKUPS_PER_TRACKING_NUMBER):
        _lookup(f"198.51.100.{attempt + 1}", "0000")

    first = _lookup("203.0.113.7", "4321")
    time.sleep(1.1)
    after_the_cool_down = _lookup("203.0.113.7", "4321")
    guesser_again = _lookup("198.51.100.1", "4321")

    assert first.status_code == 429 and first["Retry-After"] == "1"
    assert after_the_cool_down.status_code == 200 and "SF7770000000001" in after_the_cool_down.content.decode()
    assert guesser_again.status_code == 429  # who guessed wrong waits the whole window


def test_attempts_refused_to_a_blocked_caller_do_not_count_against_the_parcel(settings, parcel):
    settings.LOOKUPS_PER_IP = 2
    for _ in range(settings.LOOKUPS_PER_TRACKING_NUMBER + 5):
        _lookup("198.51.100.9", "0000")  # two count, the rest are refused at the door

    assert _lookup("203.0.113.8", "4321").status_code == 200


def test_five_wrong_complaint_filings_do_not_block_the_owner_from_a_new_address(monkeypatch, parcel):
    from portal.complaints import FILING_LIMIT_PER_TRACKING_NUMBER

    monkeypatch.setattr(ratelimit, "PROOF_COOLDOWN_SECONDS", 0)
    form = {"tracking_number": parcel.tracking_number, "reason": "delay", "description": "还没到"}
    for attempt in range(FILING_LIMIT_PER_TRACKING_NUMBER):
        Client(REMOTE_ADDR=f"198.51.100.{attempt + 1}").post("/complaints/new/", {**form, "phone_last4": "0000"})

    owner = Client(REMOTE_ADDR="203.0.113.9").post("/complaints/new/", {**form, "phone_last4": "4321"})

    assert owner.status_code == 302 and owner["Location"].startswith("/complaints/")


def test_admin_sign_in_pauses_for_an_account_guessed_from_many_addresses():
    user = UserFactory()
    for attempt in range(LOGIN_FAILURES_PER_ACCOUNT):
        Client(REMOTE_ADDR=f"198.51.100.{attempt + 1}").post(
            "/admin/login/", {"username": user.username, "password": "wrong"}
        )

    client = Client(REMOTE_ADDR="203.0.113.10")
    response = client.post(
        "/admin/login/", {"username": user.username, "password": "correct-horse-battery"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert "_auth_user_id" not in client.session
    assert "Too many failed sign-in attempts" in response.content.decode()
