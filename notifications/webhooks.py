"""Webhook endpoints: their secrets, the Standard Webhooks signature, and their health.

A delivery is an outbox row like any message (the same claiming, retries with
backoff, lease and duplicate bound); what is particular to webhooks is here:
signing it when it is sent, rotating a secret with an overlap in which both
sign, and disabling an endpoint that has failed for ``WEBHOOK_DISABLE_AFTER_HOURS``
(its owner is told, its waiting deliveries are held back).
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from notifications.models import Notification, Status, WebhookEndpoint
from notifications.outbox import EventKey, staff_alert

logger = logging.getLogger(__name__)


def webhook_secret_new() -> str:
    """A signing secret as Standard Webhooks writes them: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_endpoint_secret_rotate(*, endpoint: WebhookEndpoint) -> str:
    """A new secret; the old one goes on signing beside it for ``WEBHOOK_SECRET_OVERLAP_HOURS``,
    so the receiver can switch without missing a delivery. Returns the new secret (shown once)."""
    new = webhook_secret_new()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        secret=new,
        previous_secret=endpoint.secret,
        previous_secret_until=timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS),
    )
    endpoint.refresh_from_db()
    logger.info("webhook secret rotated", extra={"endpoint": endpoint.pk})
    return new


def webhook_headers(notification: Notification, *, now: datetime) -> dict[str, str]:
    """``webhook-id`` (the same on every attempt, so a receiver can drop a repeat),
    ``webhook-timestamp`` and ``webhook-signature`` (one per secret in force)."""
    endpoint = notification.webhook_endpoint
    if endpoint is None:
        raise ValueError("not a webhook delivery")
    message_id = f"msg_{notification.pk}"
    moment = now.astimezone(UTC)
    in_force = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        in_force.append(endpoint.previous_secret)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(
            Webhook(secret).sign(message_id, moment, notification.body) for secret in in_force
        ),
        "content-type": "application/json",
        "user-agent": "parcel-incident-webhooks/1",
    }


def webhook_endpoints_health_record(
    *, succeeded: Iterable[int], failed: Iterable[int], gone: Iterable[int] = ()
) -> None:
    """After a batch of deliveries: an endpoint that answered is well again; one that
    failed is failing since its first failure, and disabled once that is longer ago
    than ``WEBHOOK_DISABLE_AFTER_HOURS``; one that answered 410 Gone is disabled at once."""
    now = timezone.now()
    succeeded, failed, gone = set(succeeded), set(failed), set(gone)
    if succeeded:
        WebhookEndpoint.objects.filter(pk__in=succeeded, failing_since__isnull=False).update(failing_since=None)
    failed -= succeeded
    if failed:
        WebhookEndpoint.objects.filter(pk__in=failed, failing_since__isnull=True).update(failing_since=now)
        limit = now - timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
        worn_out = WebhookEndpoint.objects.filter(pk__in=failed, is_enabled=True, failing_since__lt=limit)
        for endpoint in worn_out:
            webhook_endpoint_disable(
                endpoint=endpoint,
                reason=f"failing since {timezone.localtime(endpoint.failing_since):%Y-%m-%d %H:%M}",
            )


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> bool:
    """Stop delivering to ``endpoint``: what waits for it is held back, its owner hears why.
    Returns whether this call disabled it (a second call does nothing)."""
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_enabled=True).update(
            is_enabled=False, disabled_reason=reason[:300]
        )
        if not changed:
            return False
        Notification.objects.filter(webhook_endpoint=endpoint, status=Status.PENDING).update(
            status=Status.SUPPRESSED, last_error=f"endpoint disabled: {reason}"[:300]
        )
        if (owner := endpoint.owner) is not None:
            staff_alert(
                users=[owner],
                event_key=EventKey.staff("webhook-disabled", f"{endpoint.pk}:{timezone.now():%Y%m%d%H%M%S}"),
                subject=f"Webhook endpoint disabled: {endpoint.name}",
                body=(
                    f"{endpoint.name} ({endpoint.url}) is disabled: {reason}.\n"
                    "Deliveries that were waiting are held back; enable it in the admin once it answers again.\n"
                    f"{settings.PUBLIC_BASE_URL}/admin/notifications/webhookendpoint/{endpoint.pk}/change/\n"
                ),
            )
    logger.warning("webhook endpoint disabled", extra={"endpoint": endpoint.pk, "reason": reason})
    return True
