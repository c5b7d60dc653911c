from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Language


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")
    CHAT = "chat", _("Chat")


# What a person is written to on: templates and status subscriptions offer these only.
PERSON_CHANNELS = [(Channel.SMS.value, Channel.SMS.label), (Channel.EMAIL.value, Channel.EMAIL.label)]


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
    WEBHOOK = "webhook", _("Webhook event")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    UNDELIVERED = "undelivered", _("Undelivered")
    SUPPRESSED = "suppressed", _("Suppressed")


FINAL_STATUSES = [Status.DELIVERED, Status.FAILED, Status.UNDELIVERED, Status.SUPPRESSED]


RECIPIENT_FIELDS = ("customer", "subscription", "staff_user", "webhook_endpoint", "chat_destination")


def _exactly_one_recipient() -> models.Q:
    condition = models.Q()
    for chosen in RECIPIENT_FIELDS:
        condition |= models.Q(**{f"{field}__isnull": field != chosen for field in RECIPIENT_FIELDS})
    return condition


class Notification(models.Model):
    """One message to one recipient on one channel for one event: the outbox row.

    The recipient is a customer, a status-page subscriber, a member of staff
    (alerts), a webhook endpoint or a chat, exactly one of them. The unique constraints on (event key,
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
    webhook_endpoint = models.ForeignKey(
        "notifications.WebhookEndpoint",
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("webhook endpoint"),
        null=True,
        blank=True,
    )
    chat_destination = models.ForeignKey(
        "notifications.ChatDestination",
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("chat"),
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
            models.UniqueConstraint(
                fields=["event_key", "webhook_endpoint", "channel"], name="notification_once_per_endpoint"
            ),
            models.UniqueConstraint(
                fields=["event_key", "chat_destination", "channel"], name="notification_once_per_chat"
            ),
            models.CheckConstraint(condition=_exactly_one_recipient(), name="notification_one_recipient"),
        ]
        indexes = [
            # The sweeper's and the dispatcher's work: only rows still to send, per channel in
            # due order, so a channel's claim from the outbox never walks the other's rows.
            models.Index(
                fields=["channel", "next_attempt_at"],
                condition=models.Q(status="pending"),
                name="notification_pending_channel",
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
    channel = models.CharField(_("channel"), max_length=8, choices=PERSON_CHANNELS)
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

    channel = models.CharField(_("channel"), max_length=8, choices=PERSON_CHANNELS)
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


class WebhookEvent(models.TextChoices):
    INCIDENT_CREATED = "incident.created", "incident.created"
    INCIDENT_UPDATED = "incident.updated", "incident.updated"
    INCIDENT_RESOLVED = "incident.resolved", "incident.resolved"
    COMPONENT_STATUS_CHANGED = "component.status_changed", "component.status_changed"
    COMPLAINT_ESCALATED = "complaint.escalated", "complaint.escalated"
    ORDER_AFFECTED = "order.affected", "order.affected"
    ORDER_ESTIMATE_CHANGED = "order.estimate_changed", "order.estimate_changed"
    COUPON_ISSUED = "coupon.issued", "coupon.issued"


# A merchant's endpoint hears about its own orders only; the rest is for our own systems.
MERCHANT_EVENTS = (WebhookEvent.ORDER_AFFECTED, WebhookEvent.ORDER_ESTIMATE_CHANGED, WebhookEvent.COUPON_ISSUED)
INTERNAL_EVENTS = tuple(event for event in WebhookEvent if event not in MERCHANT_EVENTS)


class WebhookEndpoint(models.Model):
    """Where a system wants signed webhooks: one of ours (incidents, components,
    complaints) or a merchant's (its own orders and coupons)."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    merchant = models.ForeignKey(
        "orders.Merchant",
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("merchant"),
        null=True,
        blank=True,
        help_text=_("Set for a merchant's system, which hears about its own orders only."),
    )
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("signing secret"), max_length=64, editable=False)
    previous_secret = models.CharField(max_length=64, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True, editable=False
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
        help_text=_("Emailed when the endpoint keeps failing and is disabled."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChatDestination(models.Model):
    """A chat the team works in (WeCom, DingTalk, Feishu, Slack, Teams, …), as an Apprise
    URL, and which staff alerts it takes: those for some roles, or some incident categories."""

    name = models.CharField(_("name"), max_length=100)
    apprise_url = models.CharField(
        _("Apprise URL"),
        max_length=500,
        help_text=_("e.g. wecombot://KEY, dingtalk://TOKEN/, feishu://TOKEN/, slack://…, msteams://…"),
    )
    roles = models.ManyToManyField("auth.Group", blank=True, related_name="+", verbose_name=_("roles"))
    categories = models.ManyToManyField(
        "incidents.IncidentCategory", blank=True, related_name="+", verbose_name=_("incident categories")
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    last_tested_at = models.DateTimeField(_("last test"), null=True, blank=True, editable=False)
    last_test_result = models.CharField(_("last test's result"), max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("chat for staff alerts")
        verbose_name_plural = _("chats for staff alerts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
