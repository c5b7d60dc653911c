"""What the lookup result says to the customer who proved a parcel is theirs.

The sentences are written here, in the customer's language, and
``portal/lookup_page.py`` lays them out. Which of them a customer reads
depends on the parcel (open or closed incidents, a new estimate or none, coupons
with or without a minimum spend): that choice is logic, and Python makes it at a
fraction of what the same branches cost as template tags on the page a worried
crowd reloads in an outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from compensation.models import Coupon, CouponStatus
from portal.selectors import ParcelDelay, ParcelView


@dataclass(frozen=True)
class DelayLine:
    """One incident that delays (or delayed) the parcel."""

    heading: str
    title: str
    incident_url: str
    promised: str
    now_expected: str


@dataclass(frozen=True)
class LookupResult:
    tracking_number: str
    recipient: str
    route: str
    status: str
    promised: str
    delays: list[DelayLine]
    messages_sent: str
    coupons: list[Coupon]
    next_steps: list[str]


def to_the_minute(value: datetime | None) -> str:
    """``2026-11-30 14:05`` in the current time zone: what ``|date:"Y-m-d H:i"`` writes,
    without localising a format on every call."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def lookup_result(parcel: ParcelView) -> LookupResult:
    order = parcel.order
    sent = parcel.messages_sent
    delays = [_delay_line(link) for link in parcel.links]
    return LookupResult(
        tracking_number=order.tracking_number,
        recipient=_("For %(name)s") % {"name": parcel.masked_name},
        route=f"{order.origin_city} → {order.destination_city}",
        status=parcel.status_label,
        promised=to_the_minute(order.promised_delivery),
        delays=delays,
        messages_sent=(
            ngettext("We sent you %(counter)s message about it.", "We sent you %(counter)s messages about it.", sent)
            % {"counter": sent}
            if sent
            else ""
        ),
        coupons=parcel.coupons,
        next_steps=_next_steps(parcel, delays),
    )


def _delay_line(link: ParcelDelay) -> DelayLine:
    return DelayLine(
        heading=_("Delayed") if link.is_open else _("Was delayed"),
        title=link.localized_title,
        incident_url=reverse("incident-page", args=[link.incident_id]),
        promised=to_the_minute(link.original_promise),
        now_expected=to_the_minute(link.new_estimate),
    )


def _next_steps(parcel: ParcelView, delays: list[DelayLine]) -> list[str]:
    """What happens next, in plain words: the delivery, then the compensation. (How to
    complain closes every result; the template writes it, with its link.)"""
    steps = [_delivery_step(delay) for link, delay in zip(parcel.links, delays, strict=True) if link.is_open]
    steps += [_coupon_step(coupon) for coupon in parcel.coupons if coupon.status == CouponStatus.ISSUED]
    if parcel.links and not parcel.coupons:
        steps.append(
            _(
                "If compensation is offered for this delay, we send you a coupon by text message and email, "
                "and it shows here."
            )
        )
    if not parcel.links:
        steps.append(_("Nothing for you to do: it should arrive as promised."))
    return steps


def _delivery_step(delay: DelayLine) -> str:
    if delay.now_expected:
        delivery = _("We are delivering it as soon as we can and now expect it by %(when)s.") % {
            "when": delay.now_expected
        }
    else:
        delivery = _(
            "We are delivering it as soon as we can; we will tell you the new delivery time as soon as we know it."
        )
    return f"{delivery} {_('If this changes, we tell you by text message and email.')}"


def _coupon_step(coupon: Coupon) -> str:
    figures = {
        "code": coupon.code,
        "value": coupon.value,
        "minimum": coupon.minimum_spend,
        "until": timezone.localtime(coupon.valid_until).strftime("%Y-%m-%d"),
    }
    if coupon.minimum_spend:
        return (
            _(
                "To make up for the delay, enter code %(code)s at checkout for ¥%(value)s off an order of "
                "¥%(minimum)s or more, until %(until)s."
            )
            % figures
        )
    return (
        _(
            "To make up for the delay, enter code %(code)s at checkout for ¥%(value)s off your next order, until %(until)s."
        )
        % figures
    )
