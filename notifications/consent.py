"""An address that must hear nothing more, or may again: one way for every source.

STOP by SMS, the provider's "recipient replied STOP" error, an email hard bounce
and a spam complaint all end up here, and all do the same: every customer with
that address loses consent for the channel, every status subscription at it
ends, and what waits for it is suppressed. The sender checks consent again when
it sends, so nothing held for quiet hours or a retry slips through.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer
from customers.services import customer_consent_set
from notifications.models import Channel, Notification, Status, StatusSubscription

logger = logging.getLogger(__name__)


def _customers_at(channel: str, address: str) -> list[Customer]:
    if channel == Channel.SMS:
        return list(Customer.objects.filter(phone=address))
    return list(Customer.objects.filter(email=address))


def address_opt_out(*, channel: str, address: str, reason: str = "recipient opted out") -> int:
    """Stop ``channel`` to ``address``; returns how many customers and subscriptions it ended."""
    if not address:
        return 0
    now = timezone.now()
    with transaction.atomic():
        customers = _customers_at(channel, address)
        for customer in customers:
            customer_consent_set(
                customer=customer,
                sms=False if channel == Channel.SMS else customer.sms_consent,
                email=False if channel == Channel.EMAIL else customer.email_consent,
            )
        subscriptions = list(
            StatusSubscription.objects.filter(channel=channel, address=address, unsubscribed_at__isnull=True)
        )
        StatusSubscription.objects.filter(pk__in=[row.pk for row in subscriptions]).update(unsubscribed_at=now)
        # What waits is marked now, so the admin tells the truth at once; the
        # sender checks consent again anyway, whatever slips past this.
        Notification.objects.filter(
            Q(customer__in=customers) | Q(subscription__in=subscriptions), channel=channel, status=Status.PENDING
        ).update(status=Status.SUPPRESSED, last_error=reason[:300])
        ended = len(subscriptions)
    logger.info(
        "address opted out",
        extra={"channel": channel, "customers": len(customers), "subscriptions": ended, "reason": reason},
    )
    return len(customers) + ended


def address_opt_in(*, channel: str, address: str) -> int:
    """START by SMS: customers at this number hear by SMS again (subscriptions need a new sign-up)."""
    customers = _customers_at(channel, address)
    for customer in customers:
        customer_consent_set(
            customer=customer,
            sms=True if channel == Channel.SMS else customer.sms_consent,
            email=True if channel == Channel.EMAIL else customer.email_consent,
        )
    return len(customers)
