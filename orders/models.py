from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

validate_tracking_number = RegexValidator(
    r"^[A-Z0-9]{8,32}$",
    _("A tracking number is 8 to 32 capital letters and digits, e.g. SF1234567890123."),
)


class ParcelStatus(models.TextChoices):
    CREATED = "created", _("Order created")
    PICKED_UP = "picked_up", _("Picked up")
    IN_TRANSIT = "in_transit", _("In transit")
    AT_HUB = "at_hub", _("At transfer hub")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    EXCEPTION = "exception", _("Exception")
    RETURNED = "returned", _("Returned to sender")


validate_merchant_code = RegexValidator(
    r"^[A-Za-z0-9._-]{1,32}$", _("A merchant code is 1 to 32 letters, digits, dots, dashes or underscores.")
)


class Merchant(models.Model):
    """A shop whose parcels we carry, as the order system names it; its systems may
    receive webhooks about its own orders."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[validate_merchant_code])
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Order(models.Model):
    """A parcel, as the order system knows it; the tracking number is its key."""

    tracking_number = models.CharField(
        _("tracking number"), max_length=32, unique=True, validators=[validate_tracking_number]
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer"))
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="orders", verbose_name=_("merchant"), null=True, blank=True
    )
    origin_city = models.CharField(_("origin city"), max_length=50)
    destination_city = models.CharField(_("destination city"), max_length=50)
    hub = models.CharField(
        _("hub"), max_length=50, help_text=_("Transfer hub currently responsible, e.g. 上海转运中心.")
    )
    status = models.CharField(_("status"), max_length=20, choices=ParcelStatus.choices, default=ParcelStatus.CREATED)
    promised_delivery = models.DateTimeField(_("promised delivery"))
    current_estimate = models.DateTimeField(_("current estimated delivery"), null=True, blank=True)
    created_at = models.DateTimeField(
        _("ordered at"), default=timezone.now, help_text=_("When the order system created the order.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        # Incidents select affected parcels by these columns.
        indexes = [
            models.Index(fields=["hub", "status"], name="order_hub_status"),
            models.Index(fields=["origin_city"], name="order_origin"),
            models.Index(fields=["destination_city"], name="order_destination"),
            models.Index(fields=["promised_delivery"], name="order_promised"),
            models.Index(fields=["created_at"], name="order_created"),
        ]

    def __str__(self) -> str:
        return self.tracking_number


class TrackingEvent(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tracking_events", verbose_name=_("order"))
    occurred_at = models.DateTimeField(_("time"))
    location = models.CharField(_("location"), max_length=80)
    status = models.CharField(_("status"), max_length=20, choices=ParcelStatus.choices)
    description = models.CharField(_("description"), max_length=300, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["-occurred_at"]
        constraints = [
            # The order system resends events; the same scan must not appear twice.
            models.UniqueConstraint(fields=["order", "occurred_at", "status", "location"], name="tracking_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status} @ {self.location}"
