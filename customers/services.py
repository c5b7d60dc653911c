from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from customers.models import Customer

# Contact details the order system owns. Consent is not among them: a customer's
# own opt-out (STOP, unsubscribe) must survive the next push from the order system.
UPSERTED_FIELDS = ["name", "phone", "email", "language"]


def customer_upsert(
    *, external_id: str, name: str, phone: str, email: str = "", language: str = "zh-hans"
) -> tuple[Customer, bool]:
    """Create or update the customer with ``external_id``; returns it and whether it was created.

    Idempotent: the same call twice leaves one row with the same values.
    """
    with transaction.atomic():
        customer, created = Customer.objects.select_for_update().get_or_create(
            external_id=external_id,
            defaults={"name": name, "phone": phone, "email": email, "language": language},
        )
        if not created:
            customer.name, customer.phone, customer.email, customer.language = name, phone, email, language
            customer.save(update_fields=[*UPSERTED_FIELDS, "updated_at"])
    return customer, created


def customers_upsert_bulk(*, rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Upsert many customers in one statement; returns ``external_id → id``.

    Set-based (``INSERT … ON CONFLICT (external_id) DO UPDATE``); call inside the
    caller's transaction so a failed batch writes nothing.
    """
    # One row per customer: PostgreSQL refuses to upsert the same key twice in
    # one statement, and a batch often holds several parcels of one customer.
    unique_rows = {row["external_id"]: row for row in rows}
    customers = [
        Customer(
            external_id=row["external_id"],
            name=row["name"],
            phone=row["phone"],
            email=row.get("email", ""),
            language=row.get("language", "zh-hans"),
        )
        for row in unique_rows.values()
    ]
    Customer.objects.bulk_create(
        customers,
        update_conflicts=True,
        unique_fields=["external_id"],
        update_fields=[*UPSERTED_FIELDS, "updated_at"],
    )
    external_ids = [customer.external_id for customer in customers]
    return dict(Customer.objects.filter(external_id__in=external_ids).values_list("external_id", "id"))


def customer_consent_set(*, customer: Customer, sms: bool, email: bool) -> bool:
    """Record the customer's channel consent; stamps the time only when it changed.

    Returns whether anything changed.
    """
    if (customer.sms_consent, customer.email_consent) == (sms, email):
        return False
    customer.sms_consent, customer.email_consent = sms, email
    customer.consent_updated_at = timezone.now()
    customer.save(update_fields=["sms_consent", "email_consent", "consent_updated_at", "updated_at"])
    return True
