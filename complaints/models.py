from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from customers.models import Customer
from orders.models import Order


class Reason(models.TextChoices):
    DELAY = "delay", _("Delay")
    LOST = "lost", _("Lost parcel")
    DAMAGED = "damaged", _("Damaged")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    RETURNED = "returned", _("Refused or returned")
    ATTITUDE = "attitude", _("Service attitude")
    OTHER = "other", _("Other")


class ComplaintChannel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")


class ComplaintStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    AWAITING_CUSTOMER = "awaiting_customer", _("Awaiting customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


def new_access_token() -> str:
    # The customer's private link: 192 random bits, never shown to staff lists.
    return secrets.token_urlsafe(24)


class Complaint(FSMModelMixin, models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="complaints", verbose_name=_("customer")
    )
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="complaints", verbose_name=_("order")
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
        verbose_name=_("incident"),
    )
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    description = models.TextField(_("description"))
    channel = models.CharField(
        _("channel"), max_length=8, choices=ComplaintChannel.choices, default=ComplaintChannel.PORTAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_complaints",
        verbose_name=_("assignee"),
        limit_choices_to={"is_staff": True},
    )
    status = FSMField(_("status"), default=ComplaintStatus.NEW, choices=ComplaintStatus.choices, protected=True)
    access_token = models.CharField(max_length=64, unique=True, default=new_access_token, editable=False)
    reply_due_at = models.DateTimeField(
        _("reply due"), null=True, blank=True, help_text=_("Empty while no reply is owed.")
    )
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    escalated = models.BooleanField(_("escalated"), default=False)
    created_at = models.DateTimeField(_("filed"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["reply_due_at", "id"]
        indexes = [models.Index(fields=["status", "reply_due_at"], name="complaint_queue")]

    def __str__(self) -> str:
        return self.reference

    @transition(field=status, source=ComplaintStatus.NEW, target=ComplaintStatus.ASSIGNED)
    def assign(self) -> None:
        pass

    @transition(
        field=status, source=[ComplaintStatus.NEW, ComplaintStatus.ASSIGNED], target=ComplaintStatus.AWAITING_CUSTOMER
    )
    def await_customer(self) -> None:
        pass

    @transition(
        field=status,
        source=[ComplaintStatus.AWAITING_CUSTOMER, ComplaintStatus.RESOLVED],
        target=ComplaintStatus.ASSIGNED,
    )
    def customer_wrote_back(self) -> None:
        pass

    @transition(
        field=status,
        source=[ComplaintStatus.NEW, ComplaintStatus.ASSIGNED, ComplaintStatus.AWAITING_CUSTOMER],
        target=ComplaintStatus.RESOLVED,
    )
    def resolve(self) -> None:
        pass

    @transition(field=status, source=ComplaintStatus.RESOLVED, target=ComplaintStatus.CLOSED)
    def close(self) -> None:
        pass


class MessageKind(models.TextChoices):
    CUSTOMER = "customer", _("From the customer")
    REPLY = "reply", _("Reply to the customer")
    NOTE = "note", _("Internal note")


class ComplaintMessage(models.Model):
    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="messages", verbose_name=_("complaint")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=MessageKind.choices)
    body = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("complaint message")
        verbose_name_plural = _("complaint messages")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind}"


class ReplyDeadline(models.Model):
    """One owed reply: from the complaint (or the customer's answer) to the next public reply.

    Reports read these rows as they are: first response, met or missed, breaches.
    The beat sweep claims its rows with ``select_for_update(skip_locked=True)``
    and the ``reminded_at``/``escalated_at`` stamps make each fire once.
    """

    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="deadlines", verbose_name=_("complaint")
    )
    started_at = models.DateTimeField(_("clock started"))
    due_at = models.DateTimeField(_("due"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    met = models.BooleanField(_("met"), null=True, blank=True)
    # The reply that answered it, and when its messages were seen to reach the customer
    # (or all to fail: then the deadline counts as missed after all).
    reply = models.ForeignKey(
        "complaints.ComplaintMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    delivery_checked_at = models.DateTimeField(_("reply's delivery checked"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated and recorded as breach"), null=True, blank=True)

    class Meta:
        verbose_name = _("reply deadline")
        verbose_name_plural = _("reply deadlines")
        ordering = ["due_at"]
        constraints = [
            # At most one open clock per complaint.
            models.UniqueConstraint(
                fields=["complaint"], condition=models.Q(answered_at__isnull=True), name="one_open_deadline"
            ),
        ]
        indexes = [
            # The sweep's whole working set: unanswered deadlines by due time.
            models.Index(fields=["due_at"], condition=models.Q(answered_at__isnull=True), name="deadline_open_due"),
            # Replies in time whose messages are still on their way.
            models.Index(
                fields=["answered_at"],
                condition=models.Q(met=True, delivery_checked_at__isnull=True, reply__isnull=False),
                name="deadline_reply_unchecked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} due {self.due_at:%Y-%m-%d %H:%M}"


class CannedResponse(models.Model):
    """A reply agents start from; staff-editable, one per language."""

    title = models.CharField(_("title"), max_length=80)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=[("zh-hans", _("Simplified Chinese")), ("en", _("English"))],
        default="zh-hans",
    )
    body = models.TextField(_("text"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["language", "position", "title"]

    def __str__(self) -> str:
        return self.title
