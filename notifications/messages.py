"""What a notification says: its template, filled in for its recipient, and the email around it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from email._policybase import Compat32
from email.message import EmailMessage as StdlibEmailMessage
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from notifications.contexts import contexts_for
from notifications.default_templates import DEFAULT_TEMPLATES
from notifications.models import Channel, Notification, NotificationTemplate
from notifications.rendering import one_line, render, render_sms

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
SUBJECT_MAX_LENGTH = Notification._meta.get_field("subject").max_length or 200
SUBSCRIPTION_SALT = "notifications.status-subscription"


def template_for(event_type: str, channel: str, language: str) -> tuple[str, str]:
    stored = NotificationTemplate.objects.filter(event_type=event_type, channel=channel, language=language).first()
    if stored is not None:
        return stored.subject, stored.body
    return DEFAULT_TEMPLATES[(event_type, channel, language)]


def message_render(*, event_type: str, channel: str, language: str, context: Mapping[str, str]) -> tuple[str, str]:
    """Subject and body of one message: an SMS kept within ``SMS_MAX_SEGMENTS``, a
    subject on one line that fits its column."""
    subject, body = template_for(event_type, channel, language)
    if channel == Channel.SMS:
        return "", render_sms(body, context, max_segments=settings.SMS_MAX_SEGMENTS)
    return one_line(render(subject, context), max_length=SUBJECT_MAX_LENGTH), render(body, context)


def messages_render(notifications: Sequence[Notification]) -> None:
    """Fill subject and body of messages written bare (a fan-out), a few queries per batch.

    The values come from the provider the event's app registered (``contexts.py``).
    """
    templates: dict[tuple[str, str, str], tuple[str, str]] = {}
    contexts = contexts_for(notifications)
    for notification in notifications:
        key = (notification.event_type, notification.channel, notification.language)
        if key not in templates:
            templates[key] = template_for(*key)
        subject, body = templates[key]
        context = {"customer_name": notification.customer.name if notification.customer else ""}
        context.update(contexts[notification.pk])
        if notification.channel == Channel.SMS:
            notification.body = render_sms(body, context, max_segments=settings.SMS_MAX_SEGMENTS)
        else:
            notification.subject = one_line(render(subject, context), max_length=SUBJECT_MAX_LENGTH)
            notification.body = render(body, context)


def unsubscribe_url(customer_id: int, channel: str) -> str:
    token = signing.dumps({"customer": customer_id, "channel": channel}, salt=UNSUBSCRIBE_SALT)
    return settings.PUBLIC_BASE_URL + reverse("unsubscribe", args=[token])


def unsubscribe_token_read(token: str) -> dict[str, object] | None:
    try:
        payload: dict[str, object] = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return payload


def subscription_link(subscription_id: int, action: str) -> str:
    """A signed link to confirm or cancel a status subscription."""
    token = signing.dumps({"s": subscription_id, "a": action}, salt=SUBSCRIPTION_SALT)
    return settings.PUBLIC_BASE_URL + reverse(f"status-subscription-{action}", args=[token])


# A header value written as it is: printable ASCII, single spaces, nothing to fold or encode.
_PLAIN_HEADER = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*\Z")


class _PlainHeadersFirst(Compat32):
    """Django's messages' policy (compat32), writing a header that fits on its line in
    printable ASCII as it is: compat32 sends every value through ``email.header.Header``,
    which splits and joins it again to the same text — a third of the CPU of building an
    email, and the email lanes share one interpreter. Anything longer, or with anything
    else in it, takes the standard path; ``test_email_building`` holds the bytes equal."""

    def _fold(self, name: str, value: object, sanitize: bool) -> str:
        limit = self.max_line_length or 78
        if isinstance(value, str) and len(name) + 2 + len(value) <= limit and _PLAIN_HEADER.match(value):
            return f"{name}: {value}{self.linesep}"
        folded: str = super()._fold(name, value, sanitize)  # type: ignore[misc]  # typeshed leaves compat32's helper out
        return folded


PLAIN_HEADERS_FIRST = _PlainHeadersFirst()


class OutboxEmail(EmailMultiAlternatives):
    """An email as Django builds it, with the quicker header writing above and a random
    boundary of its own (the email package would otherwise compile a regular expression for
    each message to check that its boundary appears nowhere in the text)."""

    # Typed as django-stubs type the method; at run time Django returns a SafeMIME… message.
    def message(self, **options: Any) -> StdlibEmailMessage:
        mime = super().message(**options)
        mime.policy = PLAIN_HEADERS_FIRST
        if mime.is_multipart():
            # 128 random bits: no text contains it ("=_" cannot even begin a quoted-printable line).
            mime.set_boundary(f"=_{secrets.token_hex(16)}")
        return mime


def build_email(notification: Notification) -> OutboxEmail:
    """Multipart text and HTML; one thread per incident; one-click unsubscribe.

    Staff alerts are plain text and carry no unsubscribe link (they are work).
    """
    domain = urlsplit(settings.PUBLIC_BASE_URL).hostname or "localhost"
    subject = one_line(notification.subject, max_length=SUBJECT_MAX_LENGTH)
    headers = {"Message-ID": f"<notification-{notification.pk}@{domain}>"}
    if notification.incident_id:
        thread = f"<incident-{notification.incident_id}@{domain}>"
        headers["References"] = thread
        headers["In-Reply-To"] = thread
    if notification.staff_user_id:
        return OutboxEmail(subject=subject, body=notification.body, to=[notification.recipient], headers=headers)
    if notification.subscription_id:
        unsubscribe = subscription_link(notification.subscription_id, "cancel")
    elif notification.customer_id:
        unsubscribe = unsubscribe_url(notification.customer_id, Channel.EMAIL)
    else:  # webhook and chat rows are never emails
        raise ValueError(f"notification {notification.pk} has no email recipient")
    headers["List-Unsubscribe"] = f"<{unsubscribe}>"
    headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    with translation.override(notification.language):
        html = render_to_string(
            "notifications/email.html",
            {
                "subject": subject,
                "body": notification.body,
                "unsubscribe_url": unsubscribe,
                "subscriber": bool(notification.subscription_id),
            },
        )
    message = OutboxEmail(
        subject=subject,
        body=f"{notification.body}\n\n--\n{unsubscribe}\n",
        to=[notification.recipient],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
