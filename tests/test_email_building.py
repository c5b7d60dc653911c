"""The email around a message: the quicker header writing gives the very bytes the standard one does."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import compat32

import pytest

from notifications.messages import PLAIN_HEADERS_FIRST, build_email
from notifications.models import Channel, Notification

TITLE_ZH = "受台风影响,广州白云转运中心暂停作业"
CASES = {
    "chinese": (
        "您的包裹可能延误:" + TITLE_ZH,
        "王芳您好,您的包裹 SF1234567890123 可能延误。\n预计送达 11月25日 18:00。",
    ),
    "english": ("Your parcel may be late: Typhoon", "Dear Wang,\n\nYour parcel SF1234567890123 may be late."),
    "long subject": ("Update: " + "sorting line 3 restarts at 14:00, " * 6, "Short body."),
    "double  spaces": ("Two  spaces  here", "Body  with  spaces"),
    "long line": ("Subject", "x" * 1200),  # over 998 characters: quoted-printable
    "boundary-like text": ("=_ looks like a boundary", "--=_0123 and =_ again"),
}


def _email(subject: str, body: str, **ids: int) -> Notification:
    return Notification(
        pk=4242,
        channel=Channel.EMAIL,
        recipient="wang@example.com",
        language="zh-hans",
        subject=subject,
        body=body,
        incident_id=7,
        **ids,
    )


def _both_ways(notification: Notification) -> tuple[bytes, bytes]:
    mime = build_email(notification).message()
    quick = mime.as_bytes(linesep="\r\n")
    mime.policy = compat32
    return quick, mime.as_bytes(linesep="\r\n")


@pytest.mark.parametrize("case", CASES)
def test_a_customers_email_is_byte_for_byte_what_the_standard_writer_gives(case):
    subject, body = CASES[case]

    quick, standard = _both_ways(_email(subject, body, customer_id=11))

    assert quick == standard
    parsed = message_from_bytes(quick)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_boundary().startswith("=_")
    assert [part.get_content_type() for part in parsed.get_payload()] == ["text/plain", "text/html"]


def test_a_staff_alert_is_plain_text_and_byte_for_byte_the_same():
    quick, standard = _both_ways(_email(*CASES["chinese"], staff_user_id=3))

    assert quick == standard
    assert message_from_bytes(quick).get_content_type() == "text/plain"


def test_only_a_short_printable_ascii_header_is_written_as_it_is():
    linesep = PLAIN_HEADERS_FIRST.linesep

    assert PLAIN_HEADERS_FIRST.fold("Message-ID", "<notification-1@example.com>") == (
        "Message-ID: <notification-1@example.com>" + linesep
    )
    long_value = "<https://status.example.com/unsubscribe/" + "a" * 120 + "/>"
    assert linesep + " " in PLAIN_HEADERS_FIRST.fold("List-Unsubscribe", long_value)  # folded, as before
    assert PLAIN_HEADERS_FIRST.fold("Subject", TITLE_ZH).startswith("Subject: =?utf-8?")  # encoded, as before
