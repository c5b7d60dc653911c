"""What a notification says: its template, filled in for its customer, and the email around it."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
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


def message_context(notification: Notification, *, parcels: list[tuple[str, object]] | None = None) -> dict[str, str]:
    """The placeholders' values for this customer: their parcels in this incident.

    ``parcels`` — (tracking number, new estimate) pairs — saves a query when the
    caller loaded them for many messages at once.
    """
    language = notification.language
    context = {"customer_name": notification.customer.name, "link": f"{settings.PUBLIC_BASE_URL}/", "parcel_count": "0"}
    incident = notification.incident
    if incident is not None:
        context["link"] = f"{settings.PUBLIC_BASE_URL}/incidents/{incident.pk}/"
        english = language == "en" and incident.title_en
        context["incident_title"] = incident.title_en if english else incident.title_zh
        context["estimated_recovery"] = _when(incident.estimated_recovery_at, language)
        if parcels is None:
            parcels = list(
                incident.affected_orders.filter(order__customer_id=notification.customer_id)
                .order_by("order__tracking_number")
                .values_list("order__tracking_number", "new_estimate")
            )
        count = len(parcels)
        context["parcel_count"] = str(count)
        more = (f"等{count}件" if language == "zh-hans" else f" and {count - 1} more") if count > 1 else ""
        context["tracking_number"] = (parcels[0][0] + more) if parcels else ""
        estimates = [estimate for _number, estimate in parcels if estimate is not None]
        context["new_estimate"] = _when(max(estimates) if estimates else None, language)
    update = notification.incident_update
    if update is not None:
        context["update_text"] = (update.body_en if language == "en" and update.body_en else update.body_zh).strip()
    return context


def render_many(notifications: list[Notification]) -> None:
    """Fill subject and body of many messages with a few queries, not a few per message."""
    from collections import defaultdict

    from incidents.models import AffectedOrder

    templates: dict[tuple[str, str, str], tuple[str, str]] = {}
    parcels: dict[tuple[int, int], list[tuple[str, object]]] = defaultdict(list)
    by_incident: dict[int, list[int]] = defaultdict(list)
    for notification in notifications:
        if notification.incident_id:
            by_incident[notification.incident_id].append(notification.customer_id)
    for incident_id, customer_ids in by_incident.items():
        rows = AffectedOrder.objects.filter(incident_id=incident_id, order__customer_id__in=customer_ids).values_list(
            "order__customer_id", "order__tracking_number", "new_estimate"
        )
        for customer_id, tracking_number, new_estimate in rows.order_by("order__tracking_number"):
            parcels[(incident_id, customer_id)].append((tracking_number, new_estimate))
    for notification in notifications:
        key = (notification.event_type, notification.channel, notification.language)
        if key not in templates:
            templates[key] = template_for(*key)
        subject, body = templates[key]
        context = message_context(
            notification, parcels=parcels.get((notification.incident_id, notification.customer_id), [])
        )
        notification.subject, notification.body = render(subject, context), render(body, context)


def template_for(event_type: str, channel: str, language: str) -> tuple[str, str]:
    stored = NotificationTemplate.objects.filter(event_type=event_type, channel=channel, language=language).first()
    if stored is not None:
        return stored.subject, stored.body
    return DEFAULT_TEMPLATES[(event_type, channel, language)]


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
    if notification.subscription_id:
        from notifications.subscriptions import signed_link

        unsubscribe = signed_link(notification.subscription, "cancel")
    else:
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
