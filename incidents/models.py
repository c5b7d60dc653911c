from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition
from typing_extensions import TypeVar

from components.models import ComponentStatus, ServiceComponent
from core.bilingual import Bilingual
from orders.models import Order

if TYPE_CHECKING:
    from django_fsm import UserWithPermissions

# A target is at least a minute and at most a year: a negative one is due before the
# incident is reported, and one of millions of days overflows the date it falls due.
MIN_TARGET = timedelta(minutes=1)
MAX_TARGET = timedelta(days=365)
TARGET_VALIDATORS = [MinValueValidator(MIN_TARGET), MaxValueValidator(MAX_TARGET)]


class IncidentCategory(Bilingual, models.Model):
    """Staff-editable; the targets are the defaults each new incident copies."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80)
    response_target = models.DurationField(
        _("first response target"),
        null=True,
        blank=True,
        validators=TARGET_VALIDATORS,
        help_text=_("Empty: set per incident."),
    )
    recovery_target = models.DurationField(
        _("recovery target"),
        null=True,
        blank=True,
        validators=TARGET_VALIDATORS,
        help_text=_("Empty: set per incident."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("incident category")
        verbose_name_plural = _("incident categories")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.localized("name")


class Severity(models.IntegerChoices):
    CRITICAL = 1, _("Level 1 · critical")
    MAJOR = 2, _("Level 2 · major")
    MODERATE = 3, _("Level 3 · moderate")
    MINOR = 4, _("Level 4 · minor")


class IncidentStatus(models.TextChoices):
    REPORTED = "reported", _("Reported")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = [
    IncidentStatus.REPORTED,
    IncidentStatus.ACKNOWLEDGED,
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
]
# Staff who command incidents; closing and reopening need a supervisor.
MANAGE_PERMISSION = "incidents.manage_incident"
CLOSE_PERMISSION = "incidents.close_incident"
DECLARE_PERMISSION = "incidents.add_incident"
# Tie parcels to an incident: people who command it, and the order system and monitoring.
LINK_PERMISSION = "incidents.link_orders"


# django-fsm calls these with the model whose transition it checks; it types them for any model.
def can_manage(instance: models.Model, user: UserWithPermissions) -> bool:
    """Staff who command incidents; a client system only the internal incident it opened itself
    (monitoring resolving its own alert), which reaches no customer and no public page."""
    if not user:
        return False
    if user.has_perm(MANAGE_PERMISSION):
        return True
    return (
        isinstance(instance, Incident)
        and instance.published_at is None
        and instance.created_by_id == getattr(user, "pk", None)
        and user.has_perm(DECLARE_PERMISSION)
    )


def can_close(instance: models.Model, user: UserWithPermissions) -> bool:
    return bool(user and user.has_perm(CLOSE_PERMISSION))


def has_review(instance: models.Model) -> bool:
    return all(getattr(instance, field).strip() for field in ("root_cause", "measures_taken", "improvements"))


# Generic in its rows, as Django's QuerySet is, so that annotations and
# Prefetch(to_attr=...) stay typed through this queryset's methods.
_RowT = TypeVar("_RowT", covariant=True, default="Incident")


class IncidentQuerySet(models.QuerySet["Incident", _RowT]):
    def published(self) -> Self:
        """What the public may see: internal incidents are left out."""
        return self.filter(published_at__isnull=False)


class Incident(FSMModelMixin, Bilingual, models.Model):
    category = models.ForeignKey(
        IncidentCategory, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("category")
    )
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices, default=Severity.MODERATE)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    summary_zh = models.TextField(_("public summary (Chinese)"), blank=True)
    summary_en = models.TextField(_("public summary (English)"), blank=True)
    description = models.TextField(_("internal description"), blank=True, help_text=_("Staff only. Markdown."))
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commanded_incidents",
        verbose_name=_("commander"),
        limit_choices_to={"is_staff": True},
    )
    components = models.ManyToManyField(
        ServiceComponent,
        through="IncidentComponent",
        related_name="incidents",
        blank=True,
        verbose_name=_("affected components"),
    )
    estimated_recovery_at = models.DateTimeField(_("public estimated recovery"), null=True, blank=True)
    # Empty while the incident is internal: no portal page, status page or JSON shows it,
    # and no customer hears of it, until someone who commands incidents publishes it.
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    status = FSMField(_("status"), default=IncidentStatus.REPORTED, choices=IncidentStatus.choices, protected=True)

    impact_started_at = models.DateTimeField(_("impact started"))
    reported_at = models.DateTimeField(_("reported"))
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    mitigated_at = models.DateTimeField(_("mitigated"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    response_target = models.DurationField(
        _("first response target"), null=True, blank=True, validators=TARGET_VALIDATORS
    )
    recovery_target = models.DurationField(_("recovery target"), null=True, blank=True, validators=TARGET_VALIDATORS)
    response_due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    recovery_due_at = models.DateTimeField(_("recovery due"), null=True, blank=True)
    response_met = models.BooleanField(_("response target met"), null=True, blank=True)
    recovery_met = models.BooleanField(_("recovery target met"), null=True, blank=True)

    root_cause = models.TextField(_("root cause"), blank=True)
    measures_taken = models.TextField(_("measures taken"), blank=True)
    improvements = models.TextField(_("improvement suggestions"), blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-reported_at", "-id"]
        permissions = [
            ("manage_incident", _("Can command incidents: transitions, updates, affected orders")),
            ("close_incident", _("Can close and reopen incidents")),
            ("link_orders", _("Can link affected orders to incidents")),
        ]
        indexes = [models.Index(fields=["status", "reported_at"], name="incident_status_reported")]

    def __str__(self) -> str:
        return f"{self.reference} {self.localized('title')}"

    @property
    def reference(self) -> str:
        return f"INC-{self.pk or 0:05d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    # --- lifecycle: services call these, then write the timeline row -------------
    @transition(field=status, source=IncidentStatus.REPORTED, target=IncidentStatus.ACKNOWLEDGED, permission=can_manage)
    def acknowledge(self) -> None:
        pass

    @transition(
        field=status,
        source=[IncidentStatus.REPORTED, IncidentStatus.ACKNOWLEDGED],
        target=IncidentStatus.INVESTIGATING,
        permission=can_manage,
    )
    def investigate(self) -> None:
        pass

    @transition(
        field=status, source=IncidentStatus.INVESTIGATING, target=IncidentStatus.IDENTIFIED, permission=can_manage
    )
    def identify(self) -> None:
        pass

    @transition(
        field=status,
        source=[IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED],
        target=IncidentStatus.MONITORING,
        permission=can_manage,
    )
    def monitor(self) -> None:
        pass

    @transition(field=status, source=OPEN_STATUSES, target=IncidentStatus.RESOLVED, permission=can_manage)
    def resolve(self) -> None:
        pass

    @transition(
        field=status,
        source=IncidentStatus.RESOLVED,
        target=IncidentStatus.CLOSED,
        permission=can_close,
        conditions=[has_review],
    )
    def close(self) -> None:
        pass

    @transition(field=status, source=IncidentStatus.RESOLVED, target=IncidentStatus.INVESTIGATING, permission=can_close)
    def reopen(self) -> None:
        pass


class IncidentComponent(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="component_impacts")
    component = models.ForeignKey(
        ServiceComponent, on_delete=models.CASCADE, related_name="incident_impacts", verbose_name=_("component")
    )
    impact = models.CharField(
        _("impact"),
        max_length=24,
        choices=[c for c in ComponentStatus.choices if c[0] != ComponentStatus.OPERATIONAL],
        default=ComponentStatus.PARTIAL_OUTAGE,
    )

    class Meta:
        verbose_name = _("affected component")
        verbose_name_plural = _("affected components")
        constraints = [models.UniqueConstraint(fields=["incident", "component"], name="incident_component_once")]

    def __str__(self) -> str:
        return f"{self.component} ({self.get_impact_display()})"


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")


class UpdateKind(models.TextChoices):
    DECLARED = "declared", _("Declared")
    TRANSITION = "transition", _("Status change")
    UPDATE = "update", _("Update")
    ESTIMATE = "estimate", _("Estimate changed")
    TARGET = "target", _("Target alert")
    ORDERS = "orders", _("Affected orders")
    PUBLISHED = "published", _("Published")
    ALERT = "alert", _("Monitoring alert")


class IncidentUpdate(models.Model):
    """One row of the incident's timeline. Public rows are shown on the portal and
    drive customer notifications; internal rows are for staff only."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates", verbose_name=_("incident"))
    kind = models.CharField(_("kind"), max_length=16, choices=UpdateKind.choices, default=UpdateKind.UPDATE)
    visibility = models.CharField(
        _("visibility"), max_length=8, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    status = models.CharField(_("status at the time"), max_length=16, choices=IncidentStatus.choices)
    from_status = models.CharField(_("previous status"), max_length=16, choices=IncidentStatus.choices, blank=True)
    body_zh = models.TextField(_("text (Chinese)"), blank=True, help_text=_("Markdown."))
    body_en = models.TextField(_("text (English)"), blank=True, help_text=_("Markdown."))
    body_zh_html = models.TextField(editable=False, blank=True)
    body_en_html = models.TextField(editable=False, blank=True)
    notify_customers = models.BooleanField(_("notify affected customers"), default=False)
    notify_sms = models.BooleanField(_("by SMS"), default=False)
    notify_email = models.BooleanField(_("by email"), default=False)
    # When its customer messages were written; empty while a large fan-out waits for a worker.
    fanned_out_at = models.DateTimeField(_("messages written"), null=True, blank=True, editable=False)
    subscribers_notified_at = models.DateTimeField(
        _("status subscribers' notices written"), null=True, blank=True, editable=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["incident", "visibility", "created_at"], name="update_incident_visibility")]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class Target(models.TextChoices):
    RESPONSE = "response", _("First response")
    RECOVERY = "recovery", _("Recovery")


class AlertKind(models.TextChoices):
    AT_RISK = "at_risk", _("About to be missed")
    MISSED = "missed", _("Missed")


class TargetAlert(models.Model):
    """At most one per (incident, target, kind): the unique constraint is what makes
    the beat job's alerts fire once even with two beat processes."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="target_alerts")
    target = models.CharField(_("target"), max_length=10, choices=Target.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=AlertKind.choices)
    due_at = models.DateTimeField(_("due"))
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)

    class Meta:
        verbose_name = _("target alert")
        verbose_name_plural = _("target alerts")
        constraints = [models.UniqueConstraint(fields=["incident", "target", "kind"], name="target_alert_once")]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.target} {self.kind}"


class AffectedReason(models.TextChoices):
    # The order-anomaly classes of seed 002 (订单异常分类).
    DELAYED = "delayed", _("Delayed")
    LOST = "lost", _("Lost")
    DAMAGED = "damaged", _("Damaged")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    RETURNED = "returned", _("Refused or returned")
    OTHER = "other", _("Other")


class AffectedOrder(models.Model):
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="affected_orders", verbose_name=_("incident")
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="incident_links", verbose_name=_("order"))
    reason = models.CharField(
        _("reason"), max_length=12, choices=AffectedReason.choices, default=AffectedReason.DELAYED
    )
    original_promise = models.DateTimeField(_("original promise"))
    new_estimate = models.DateTimeField(_("new estimated delivery"), null=True, blank=True)
    linked_at = models.DateTimeField(_("linked at"))
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("linked by"),
    )

    class Meta:
        verbose_name = _("affected order")
        verbose_name_plural = _("affected orders")
        constraints = [models.UniqueConstraint(fields=["incident", "order"], name="affected_order_once")]
        indexes = [models.Index(fields=["incident", "reason"], name="affected_incident_reason")]

    def __str__(self) -> str:
        return f"{self.incident_id} / {self.order_id}"

    @property
    def delay(self) -> timedelta | None:
        return self.new_estimate - self.original_promise if self.new_estimate else None


class LinkJobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class LinkJob(models.Model):
    """A large link of orders by criteria, run by a worker in id ranges so the admin can show progress."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="link_jobs")
    criteria = models.JSONField(_("criteria"))
    state = models.CharField(_("state"), max_length=8, choices=LinkJobState.choices, default=LinkJobState.QUEUED)
    total_orders = models.PositiveIntegerField(_("orders matching"), default=0)
    scanned_up_to_id = models.BigIntegerField(default=0, editable=False)
    max_order_id = models.BigIntegerField(default=0, editable=False)
    linked = models.PositiveIntegerField(_("newly linked"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("link job")
        verbose_name_plural = _("link jobs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.state} {self.linked}"

    @property
    def progress_percent(self) -> int:
        if self.state == LinkJobState.DONE:
            return 100
        if not self.max_order_id:
            return 0
        return min(99, int(100 * self.scanned_up_to_id / self.max_order_id))


class MerchantAnnouncement(models.Model):
    """How far a merchant's systems have been told of an incident's affected orders:
    the last affected-order row announced. A rerun goes on from there."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    merchant = models.ForeignKey("orders.Merchant", on_delete=models.CASCADE, related_name="+")
    last_affected_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "merchant"], name="merchant_announcement_once")]

    def __str__(self) -> str:
        return f"{self.incident_id} → {self.merchant_id}: {self.last_affected_id}"
