"""Alerts from monitoring (Alertmanager, Grafana, anything that posts JSON), and the rules
staff write to say what an alert means for a service component."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from components.models import ComponentStatus, ServiceComponent
from incidents.models import Incident, IncidentCategory
from monitoring.matchers import Matcher, MatcherError, all_match, parse_matchers

# The token's account holds this and nothing else: it may post alerts, and only that.
RECEIVE_PERMISSION = "monitoring.receive_alerts"
# Only a supervisor may let a rule put an incident on the public status page unreviewed.
DECLARE_PERMISSION = "monitoring.declare_from_alerts"


class AlertSource(models.TextChoices):
    ALERTMANAGER = "alertmanager", _("Prometheus Alertmanager")
    GRAFANA = "grafana", _("Grafana")
    GENERIC = "generic", _("Other (generic JSON)")


class AlertStatus(models.TextChoices):
    FIRING = "firing", _("Firing")
    RESOLVED = "resolved", _("Resolved")


class RuleAction(models.TextChoices):
    STATUS = "status", _("Set the component's status only")
    DRAFT = "draft", _("Set the status and open an internal draft incident")
    DECLARE = "declare", _("Set the status and declare a public incident")


# Strongest last: alerts of one component that match different rules get the strongest.
ACTION_STRENGTH: dict[str, int] = {RuleAction.STATUS: 0, RuleAction.DRAFT: 1, RuleAction.DECLARE: 2}


class AlertRule(models.Model):
    """Which alerts concern which component, and what their firing does.

    Rules are tried in ``position`` order; an alert takes the first whose matchers
    all match its labels. Its severity label picks the component's status.
    """

    name = models.CharField(_("name"), max_length=100)
    matchers = models.TextField(
        _("label matchers"),
        help_text=_(
            'Alertmanager syntax, one per line or comma-separated: component="tracking-api", '
            'severity=~"critical|warning". All must match.'
        ),
    )
    component = models.ForeignKey(
        ServiceComponent, on_delete=models.CASCADE, related_name="alert_rules", verbose_name=_("component")
    )
    severity_label = models.CharField(_("severity label"), max_length=100, default="severity")
    major_outage_severities = models.CharField(
        _("major outage when severity is"),
        max_length=200,
        default="critical,page",
        blank=True,
        help_text=_("Comma-separated values of the severity label."),
    )
    partial_outage_severities = models.CharField(
        _("partial outage when severity is"),
        max_length=200,
        default="error,high",
        blank=True,
        help_text=_("Comma-separated. Any other severity, or none, means degraded performance."),
    )
    action = models.CharField(_("then"), max_length=8, choices=RuleAction.choices, default=RuleAction.DRAFT)
    category = models.ForeignKey(
        IncidentCategory, on_delete=models.PROTECT, related_name="+", verbose_name=_("incident category")
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    declare_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("public declaration allowed by"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("last changed by"),
    )
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["position", "id"]
        permissions = [("declare_from_alerts", _("Can let alert rules declare public incidents"))]

    def __str__(self) -> str:
        return self.name

    def parsed_matchers(self) -> list[Matcher]:
        try:
            return parse_matchers(self.matchers)
        except MatcherError:
            return []  # a rule saved before a form checked it matches nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        matchers = self.parsed_matchers()
        return bool(matchers) and all_match(matchers, labels)

    def impact_for(self, labels: Mapping[str, str]) -> str:
        severity = labels.get(self.severity_label, "").strip().lower()
        if severity in _values(self.major_outage_severities):
            return ComponentStatus.MAJOR_OUTAGE
        if severity in _values(self.partial_outage_severities):
            return ComponentStatus.PARTIAL_OUTAGE
        return ComponentStatus.DEGRADED_PERFORMANCE


def _values(text: str) -> set[str]:
    return {value.strip().lower() for value in text.split(",") if value.strip()}


class Alert(models.Model):
    """One alert as monitoring identifies it (source and fingerprint), in its latest state.

    The unique constraint makes a repeated delivery an update of this row, never a
    second alert; ``component`` and ``impact`` are what it counts for while firing.
    """

    source = models.CharField(_("source"), max_length=16, choices=AlertSource.choices)
    fingerprint = models.CharField(_("fingerprint"), max_length=128)
    alertname = models.CharField(_("alert name"), max_length=200, blank=True)
    # Empty until the first delivery is applied (rows are inserted before they are locked).
    status = models.CharField(_("status"), max_length=8, choices=AlertStatus.choices, blank=True)
    labels = models.JSONField(_("labels"), default=dict)
    annotations = models.JSONField(_("annotations"), default=dict)
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    generator_url = models.CharField(_("source link"), max_length=2000, blank=True)
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts", verbose_name=_("rule")
    )
    component = models.ForeignKey(
        ServiceComponent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("component"),
    )
    impact = models.CharField(_("impact"), max_length=24, choices=ComponentStatus.choices, blank=True)
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts", verbose_name=_("incident")
    )
    first_received_at = models.DateTimeField(_("first received"))
    last_received_at = models.DateTimeField(_("last received"))

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-last_received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "fingerprint"], name="alert_once_per_fingerprint")]
        indexes = [models.Index(fields=["component", "status"], name="alert_component_status")]
        permissions = [("receive_alerts", _("Can post monitoring alerts (Alertmanager, Grafana)"))]

    def __str__(self) -> str:
        return f"{self.alertname or self.fingerprint} ({self.get_status_display() or '—'})"


class Outcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    UNCHANGED = "unchanged", _("Nothing changed")
    IGNORED = "ignored", _("Ignored")


class AlertReceipt(models.Model):
    """Each time an alert arrived, as it arrived, and what was done with it."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="receipts", verbose_name=_("alert"))
    received_at = models.DateTimeField(_("received"), db_index=True)
    status = models.CharField(_("status"), max_length=8, choices=AlertStatus.choices)
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("rule matched")
    )
    component = models.ForeignKey(
        ServiceComponent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("component"),
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("incident")
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    detail = models.CharField(_("what was done"), max_length=500)
    group_key = models.CharField(_("group key"), max_length=500, blank=True)
    receiver = models.CharField(_("receiver"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("received alert")
        verbose_name_plural = _("received alerts")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.alert} {self.get_outcome_display()}"
