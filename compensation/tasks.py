from __future__ import annotations

from celery import shared_task

from compensation.approvals import compensation_request_issue
from compensation.services import coupons_expire


@shared_task(ignore_result=True)
def expire_coupons() -> int:
    """Beat, hourly: issued coupons past their window become expired. Idempotent."""
    return coupons_expire()


@shared_task(ignore_result=True, acks_late=True)
def issue_compensation(request_id: int) -> int:
    """Issue an approved incident compensation. Idempotent, so late ack is safe."""
    return compensation_request_issue(request_id=request_id)
