from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Language


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")


class EventType(models.TextChoices):
    INCIDENT_DECLARED = "incident_declared", _("Incident declared")
    INCIDENT_UPDATE = "incident_update", _("Incident update")
    INCIDENT_ESTIMATE = "incident_estimate", _("New delivery estimate")
    INCIDENT_RESOLVED = "incident_resolved", _("Incident resolved")
    COMPLAINT_RECEIVED = "complaint_received", _("Complaint received")
    COMPLAINT_REPLY = "complaint_reply", _("Reply to a complaint")
    COMPENSATION_ISSUED = "compensation_issued", _("Coupon issued")
    STATUS_CONFIRM = "status_confirm", _("Status notices: confirm sign-up")
    STATUS_NOTICE = "status_notice", _("Status notice")
    STAFF_ALERT = "staff_alert", _("Staff alert")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    UNDELIVERED = "undelivered", _("Undelivered")
    SUPPRESSED = "suppressed", _("Suppressed")


FINAL_STATUSES = [Status.DELIVERED, Status.FAILED, Status.UNDELIVERED, Status.SUPPRESSED]


class Notification(models.Model):
    """One message to one recipient on one channel for one event: the outbox row.

    The recipient is a customer, a status-page subscriber or a member of staff
    (alerts), exactly one of them. The unique constraints on (event key,
    recipient, channel) are what make a second message for the same event
    impossible, whoever tries.
    """

    event_type = models.CharField(_("event"), max_length=24, choices=EventType.choices)
    event_key = models.CharField(_("event key"), max_length=64)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("customer"), null=True
    )
    subscription = models.ForeignKey(
        "notifications.StatusSubscription",
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("status subscription"),
        null=True,
        blank=True,
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_notifications",
        verbose_name=_("staff member"),
        null=True,
        blank=True,
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("incident"),
    )
    incident_update = models.ForeignKey(
        "incidents.IncidentUpdate", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    critical = models.BooleanField(_("critical"), default=False, help_text=_("Sent during quiet hours."))
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    provider_message_id = models.CharField(_("provider message id"), max_length=64, blank=True)
    provider_status = models.CharField(_("provider status"), max_length=20, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    uncertain = models.BooleanField(_("may have been sent twice"), default=False)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event_key", "customer", "channel"], name="notification_once_per_event"),
            models.UniqueConstraint(
                fields=["event_key", "subscription", "channel"], name="notification_once_per_subscriber"
            ),
            models.UniqueConstraint(fields=["event_key", "staff_user", "channel"], name="notification_once_per_staff"),
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False, subscription__isnull=True, staff_user__isnull=True)
                | models.Q(customer__isnull=True, subscription__isnull=False, staff_user__isnull=True)
                | models.Q(customer__isnull=True, subscription__isnull=True, staff_user__isnull=False),
                name="notification_one_recipient",
            ),
        ]
        indexes = [
            # The sweeper's and the dispatcher's work: only rows still to send.
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="notification_pending_due"
            ),
            models.Index(
                fields=["claimed_at"], condition=models.Q(status="sending"), name="notification_sending_lease"
            ),
            models.Index(fields=["incident", "channel", "status"], name="notification_incident_status"),
            models.Index(fields=["customer", "created_at"], name="notification_customer_time"),
            # Receipts look messages up by the provider's id; unsent rows have none.
            models.Index(
                fields=["provider_message_id"],
                condition=~models.Q(provider_message_id=""),
                name="notification_provider_id",
            ),
            models.Index(
                fields=["incident_update"],
                condition=models.Q(incident_update__isnull=False),
                name="notification_update",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_key} ({self.channel})"


class PendingReceipt(models.Model):
    """A delivery receipt for a provider id no message carries yet.

    Outcomes are written in batches, so the provider's callback can arrive before
    the id is stored; it waits here and is applied when the id lands.
    """

    provider_message_id = models.CharField(max_length=64, db_index=True)
    provider_status = models.CharField(max_length=20)
    error_code = models.CharField(max_length=20, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("receipt waiting for its message")
        verbose_name_plural = _("receipts waiting for their messages")

    def __str__(self) -> str:
        return f"{self.provider_message_id}: {self.provider_status}"


class InboundMessage(models.Model):
    """An SMS a recipient sent us (STOP, START), kept by the provider's id so a
    replayed webhook changes nothing."""

    provider_message_id = models.CharField(max_length=64, unique=True)
    action = models.CharField(max_length=12, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.provider_message_id}: {self.action or '-'}"


class NotificationTemplate(models.Model):
    """Staff-editable wording per event, channel and language; named placeholders only."""

    event_type = models.CharField(_("event"), max_length=24, choices=EventType.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("Email only."))
    body = models.TextField(_("text"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["event_type", "channel", "language"]
        constraints = [models.UniqueConstraint(fields=["event_type", "channel", "language"], name="template_once")]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} · {self.get_channel_display()} · {self.get_language_display()}"


class StatusSubscription(models.Model):
    """Someone who asked for status notices by email or SMS, for all components or chosen ones.

    Email is confirmed by a signed link (double opt-in), SMS by a code sent to
    the phone. Nothing is sent before confirmation; STOP or the signed link in
    every email ends it.
    """

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    address = models.CharField(_("email or phone"), max_length=254)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.CHINESE)
    components = models.ManyToManyField(
        "components.ServiceComponent",
        blank=True,
        related_name="subscriptions",
        verbose_name=_("components"),
        help_text=_("None chosen means all."),
    )
    token = models.CharField(max_length=43, unique=True, editable=False)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    confirmations_sent = models.PositiveSmallIntegerField(_("confirmations sent"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)

    class Meta:
        verbose_name = _("status subscription")
        verbose_name_plural = _("status subscriptions")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["channel", "address"], name="subscription_once_per_address")]
        indexes = [
            models.Index(
                fields=["channel"],
                condition=models.Q(confirmed_at__isnull=False, unsubscribed_at__isnull=True),
                name="subscription_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.masked_address}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

    @property
    def masked_address(self) -> str:
        if self.channel == Channel.EMAIL:
            name, _at, domain = self.address.partition("@")
            return f"{name[:1]}***@{domain}"
        return f"{self.address[:3]}****{self.address[-4:]}"
