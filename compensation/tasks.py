from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def expire_coupons() -> int:
    """Beat, hourly: issued coupons past their window become expired. Idempotent."""
    from compensation.services import coupons_expire

    return coupons_expire()
