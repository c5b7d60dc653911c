from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from compensation.codes import new_code
from customers.models import Customer
from orders.models import Order

if TYPE_CHECKING:
    from complaints.models import Complaint
    from incidents.models import Incident


class CouponStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    REDEEMED = "redeemed", _("Redeemed")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class CouponSource(models.TextChoices):
    INCIDENT_RULE = "incident_rule", _("Incident rule")
    GOODWILL = "goodwill", _("Goodwill")
    COMPLAINT = "complaint", _("Complaint")


class Coupon(models.Model):
    code = models.CharField(_("code"), max_length=19, unique=True, default=new_code, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("customer"))
    value = models.DecimalField(
        _("value (CNY)"), max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    minimum_spend = models.DecimalField(_("minimum spend (CNY)"), max_digits=10, decimal_places=2, default=Decimal("0"))
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    status = models.CharField(_("status"), max_length=10, choices=CouponStatus.choices, default=CouponStatus.ISSUED)
    source = models.CharField(_("source"), max_length=14, choices=CouponSource.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coupons",
        verbose_name=_("incident"),
    )
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="coupons", verbose_name=_("order")
    )
    complaint = models.ForeignKey(
        "complaints.Complaint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="coupons",
        verbose_name=_("complaint"),
    )
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    redeemed_order_amount = models.DecimalField(
        _("order amount at redemption"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one incident coupon per parcel: re-runs and concurrent runs add nothing.
            models.UniqueConstraint(
                fields=["incident", "order"],
                condition=models.Q(source="incident_rule"),
                name="one_incident_coupon_per_order",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")), name="coupon_valid_window"
            ),
        ]
        indexes = [
            models.Index(fields=["valid_until"], condition=models.Q(status="issued"), name="coupon_issued_expiry")
        ]

    def __str__(self) -> str:
        return self.code


class Redemption(models.Model):
    """The first answer to a redeem request, kept under the client's idempotency key.

    A key belongs to the client that sent it (two shops may pick the same key) and
    to the request it came with: ``request_hash`` is the SHA-256 of the body, so the
    same key with another body is refused instead of answered with the first.
    """

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+", verbose_name=_("client")
    )
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64, blank=True)
    code = models.CharField(max_length=19)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("redeem request")
        verbose_name_plural = _("redeem requests")
        # Keys sent without a client (internal calls) share one space. Two partial indexes
        # rather than NULLS NOT DISTINCT, which SQLite (the quick start) does not have:
        # Django would leave the constraint out there altogether.
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=models.Q(client__isnull=False),
                name="redemption_key_per_client",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(client__isnull=True),
                name="redemption_key_without_client",
            ),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


# A coupon is valid at least a day and at most ten years.
VALID_DAYS_VALIDATORS = [MinValueValidator(1), MaxValueValidator(3650)]


class CompensationRule(models.Model):
    """One line of an incident's compensation table: parcels matching it get this coupon.

    An affected order gets the most valuable rule it matches, once.
    """

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="compensation_rules", verbose_name=_("incident")
    )
    reason = models.CharField(_("affected because"), max_length=12, blank=True, help_text=_("Empty: any reason."))
    min_delay = models.DurationField(
        _("delayed at least"),
        null=True,
        blank=True,
        help_text=_("New estimate minus the original promise. Empty: any delay."),
    )
    value = models.DecimalField(
        _("value (CNY)"), max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    minimum_spend = models.DecimalField(_("minimum spend (CNY)"), max_digits=10, decimal_places=2, default=Decimal("0"))
    valid_days = models.PositiveSmallIntegerField(_("valid for (days)"), default=30, validators=VALID_DAYS_VALIDATORS)

    class Meta:
        verbose_name = _("compensation rule")
        verbose_name_plural = _("compensation rules")
        ordering = ["incident", "-value"]
        constraints = [
            # A coupon valid for 0 days breaks the coupon's own window check halfway through an issue.
            models.CheckConstraint(condition=models.Q(valid_days__gte=1), name="rule_valid_at_least_a_day")
        ]

    def __str__(self) -> str:
        return f"¥{self.value}"


class RequestStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved")
    ISSUING = "issuing", _("Issuing")
    REJECTED = "rejected", _("Rejected")
    ISSUED = "issued", _("Issued")
    FAILED = "failed", _("Failed: resume it")


# Requests whose orders are spoken for: a new request plans only orders outside them.
LIVE_REQUEST_STATUSES = [
    RequestStatus.PENDING_APPROVAL,
    RequestStatus.APPROVED,
    RequestStatus.ISSUING,
    RequestStatus.FAILED,
]
# Requests that count towards an incident's approved total.
APPROVED_REQUEST_STATUSES = [RequestStatus.APPROVED, RequestStatus.ISSUING, RequestStatus.ISSUED, RequestStatus.FAILED]


class RequestKind(models.TextChoices):
    INCIDENT_RULES = "incident_rules", _("Incident rules")
    GOODWILL = "goodwill", _("Goodwill coupon")


class CompensationRequest(models.Model):
    """Compensation someone asked for: issued at once within the limits, else a
    supervisor decides first. The decision, who made it and when, stay recorded."""

    kind = models.CharField(_("kind"), max_length=16, choices=RequestKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING_APPROVAL
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="compensation_requests",
        verbose_name=_("incident"),
    )
    complaint = models.ForeignKey(
        "complaints.Complaint",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="compensation_requests",
        verbose_name=_("complaint"),
    )
    orders = models.PositiveIntegerField(_("orders"), default=0)
    cost = models.DecimalField(_("cost (CNY)"), max_digits=12, decimal_places=2)
    note = models.CharField(_("reason"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    issued = models.PositiveIntegerField(_("coupons issued"), default=0)
    error = models.TextField(_("why issuing stopped"), blank=True)

    class Meta:
        verbose_name = _("compensation request")
        verbose_name_plural = _("compensation requests")
        ordering = ["-requested_at"]
        permissions = [
            ("approve_compensation", _("Can approve compensation above the limits")),
            ("request_incident_compensation", _("Can ask for an incident's rule coupons to be issued")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ¥{self.cost}"

    @property
    def rules_incident(self) -> Incident:
        """The incident an incident-rules request pays for (every such request has one)."""
        if self.incident is None:
            raise ValueError(f"compensation request {self.pk} has no incident")
        return self.incident

    @property
    def goodwill_complaint(self) -> Complaint:
        """The complaint a goodwill request answers (every such request has one)."""
        if self.complaint is None:
            raise ValueError(f"compensation request {self.pk} has no complaint")
        return self.complaint


class PlannedCoupon(models.Model):
    """One coupon an incident request asks for, fixed when it is asked: the supervisor
    approves these orders at these values, and issuing pays exactly them, whatever the
    rules or the affected orders say by the time a worker runs."""

    request = models.ForeignKey(CompensationRequest, on_delete=models.CASCADE, related_name="planned_coupons")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    value = models.DecimalField(max_digits=8, decimal_places=2)
    minimum_spend = models.DecimalField(max_digits=10, decimal_places=2)
    valid_days = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = _("planned coupon")
        verbose_name_plural = _("planned coupons")
        constraints = [
            models.UniqueConstraint(fields=["request", "order"], name="planned_once_per_request"),
            models.CheckConstraint(condition=models.Q(valid_days__gte=1), name="planned_valid_at_least_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} / {self.order_id}"
