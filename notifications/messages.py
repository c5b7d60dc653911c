"""What a notification says: its template, filled in for its customer, and the email around it."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from notifications.default_templates import DEFAULT_TEMPLATES
from notifications.models import Channel, Notification, NotificationTemplate
from notifications.rendering import render

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def _when(value, language: str) -> str:  # type: ignore[no-untyped-def]
    if value is None:
        return "待定" if language == "zh-hans" else "to be confirmed"
    local = timezone.localtime(value)
    return f"{local.month}月{local.day}日 {local:%H:%M}" if language == "zh-hans" else f"{local:%d %b %H:%M}"


def message_context(notification: Notification) -> dict[str, str]:
    """The placeholders' values for this customer: their parcels in this incident."""
    language = notification.language
    context = {"customer_name": notification.customer.name, "link": f"{settings.PUBLIC_BASE_URL}/", "parcel_count": "0"}
    incident = notification.incident
    if incident is not None:
        english = language == "en" and incident.title_en
        context["incident_title"] = incident.title_en if english else incident.title_zh
        context["estimated_recovery"] = _when(incident.estimated_recovery_at, language)
        parcels = incident.affected_orders.filter(order__customer_id=notification.customer_id)
        numbers = list(parcels.order_by("order__tracking_number").values_list("order__tracking_number", flat=True)[:3])
        count = parcels.count()
        context["parcel_count"] = str(count)
        more = (f"等{count}件" if language == "zh-hans" else f" and {count - 1} more") if count > 1 else ""
        context["tracking_number"] = (numbers[0] + more) if numbers else ""
        context["new_estimate"] = _when(parcels.aggregate(latest=Max("new_estimate"))["latest"], language)
    update = notification.incident_update
    if update is not None:
        context["update_text"] = (update.body_en if language == "en" and update.body_en else update.body_zh).strip()
    return context


def template_for(event_type: str, channel: str, language: str) -> tuple[str, str]:
    stored = NotificationTemplate.objects.filter(event_type=event_type, channel=channel, language=language).first()
    if stored is not None:
        return stored.subject, stored.body
    return DEFAULT_TEMPLATES[(event_type, channel, language)]


def render_for(notification: Notification) -> tuple[str, str]:
    subject, body = template_for(notification.event_type, notification.channel, notification.language)
    context = message_context(notification)
    return render(subject, context), render(body, context)


def unsubscribe_url(customer_id: int, channel: str) -> str:
    token = signing.dumps({"customer": customer_id, "channel": channel}, salt=UNSUBSCRIBE_SALT, compress=True)
    return settings.PUBLIC_BASE_URL + reverse("unsubscribe", args=[token])


def unsubscribe_token_read(token: str) -> dict[str, object] | None:
    try:
        return signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None


def build_email(notification: Notification) -> EmailMultiAlternatives:
    """Multipart text and HTML; one thread per incident; one-click unsubscribe."""
    domain = urlsplit(settings.PUBLIC_BASE_URL).hostname or "localhost"
    unsubscribe = unsubscribe_url(notification.customer_id, Channel.EMAIL)
    headers = {
        "Message-ID": f"<notification-{notification.pk}@{domain}>",
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if notification.incident_id:
        thread = f"<incident-{notification.incident_id}@{domain}>"
        headers["References"] = thread
        headers["In-Reply-To"] = thread
    with translation.override(notification.language):
        html = render_to_string(
            "notifications/email.html", {"notification": notification, "unsubscribe_url": unsubscribe}
        )
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=f"{notification.body}\n\n--\n{unsubscribe}\n",
        to=[notification.recipient],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
