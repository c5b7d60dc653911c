from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition


class Bilingual:
    """``name`` / ``title`` in the active language, from ``<field>_zh`` and ``<field>_en``."""

    def localized(self, field: str) -> str:
        english = getattr(self, f"{field}_en", "")
        if (get_language() or "").startswith("en") and english:
            return english
        chinese: str = getattr(self, f"{field}_zh")
        return chinese

    @property
    def localized_title(self) -> str:
        return self.localized("title")

    @property
    def localized_name(self) -> str:
        return self.localized("name")


class ComponentStatus(models.TextChoices):
    # Ordered from best to worst; an incident's impact never improves a status.
    OPERATIONAL = "operational", _("Operational")
    UNDER_MAINTENANCE = "under_maintenance", _("Under maintenance")
    DEGRADED_PERFORMANCE = "degraded_performance", _("Degraded performance")
    PARTIAL_OUTAGE = "partial_outage", _("Partial outage")
    MAJOR_OUTAGE = "major_outage", _("Major outage")


STATUS_RANK = {status: rank for rank, status in enumerate(ComponentStatus.values)}


class ComponentGroup(Bilingual, models.Model):
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("component group")
        verbose_name_plural = _("component groups")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.localized("name")


class ServiceComponent(Bilingual, models.Model):
    group = models.ForeignKey(
        ComponentGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="components",
        verbose_name=_("group"),
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    description_zh = models.CharField(_("description (Chinese)"), max_length=300, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    is_public = models.BooleanField(_("shown on the status page"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    status = models.CharField(
        _("status"), max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL, editable=False
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True, editable=False)
    # What monitoring's firing alerts say (operational when none fire); one of the inputs
    # of ``status``, beside open public incidents and maintenance.
    monitoring_status = models.CharField(
        _("status by monitoring"),
        max_length=24,
        choices=ComponentStatus.choices,
        default=ComponentStatus.OPERATIONAL,
        editable=False,
    )

    class Meta:
        verbose_name = _("service component")
        verbose_name_plural = _("service components")
        ordering = ["group__position", "position", "id"]

    def __str__(self) -> str:
        return self.localized("name")


class ComponentStatusChange(models.Model):
    """Every status a component had, from when; uptime history is computed from it."""

    component = models.ForeignKey(
        ServiceComponent, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("component")
    )
    from_status = models.CharField(_("from"), max_length=24, choices=ComponentStatus.choices)
    to_status = models.CharField(_("to"), max_length=24, choices=ComponentStatus.choices)
    changed_at = models.DateTimeField(_("changed at"), db_index=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("component status change")
        verbose_name_plural = _("component status changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["component", "changed_at"], name="component_change_time")]

    def __str__(self) -> str:
        return f"{self.component_id}: {self.from_status} → {self.to_status}"


class MaintenanceState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    VERIFYING = "verifying", _("Verifying")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Maintenance(FSMModelMixin, Bilingual, models.Model):
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    components = models.ManyToManyField(
        ServiceComponent, related_name="maintenances", verbose_name=_("components"), blank=True
    )
    state = FSMField(_("state"), default=MaintenanceState.SCHEDULED, choices=MaintenanceState.choices, protected=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, editable=False)
    # The last state subscribers were told of; differs from ``state`` until they are.
    announced_state = models.CharField(max_length=12, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("scheduled maintenance")
        verbose_name_plural = _("scheduled maintenance")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="maintenance_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["state", "starts_at"], name="maintenance_state_start")]

    def __str__(self) -> str:
        return self.localized("title")

    @transition(field=state, source=MaintenanceState.SCHEDULED, target=MaintenanceState.IN_PROGRESS)
    def start(self) -> None:
        pass

    @transition(field=state, source=MaintenanceState.IN_PROGRESS, target=MaintenanceState.VERIFYING)
    def verify(self) -> None:
        pass

    @transition(
        field=state,
        source=[MaintenanceState.IN_PROGRESS, MaintenanceState.VERIFYING],
        target=MaintenanceState.COMPLETED,
    )
    def complete(self) -> None:
        pass

    @transition(field=state, source=MaintenanceState.SCHEDULED, target=MaintenanceState.CANCELLED)
    def cancel(self) -> None:
        pass
