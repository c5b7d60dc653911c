"""Alert rules staff write, and the alerts monitoring sent (read-only: they are the record)."""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.users import request_user
from incidents.models import Incident, IncidentCategory
from monitoring.matchers import MatcherError, parse_matchers
from monitoring.models import DECLARE_PERMISSION, Alert, AlertReceipt, AlertRule, RuleAction
from monitoring.rules import alert_rule_delete, alert_rule_save

_ModelT = TypeVar("_ModelT", bound=Model)


class AlertRuleForm(forms.ModelForm[AlertRule]):
    class Meta:
        model = AlertRule
        fields = [
            "name",
            "matchers",
            "component",
            "severity_label",
            "major_outage_severities",
            "partial_outage_severities",
            "action",
            "category",
            "is_active",
            "position",
        ]
        widgets = {"matchers": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def clean_matchers(self) -> str:
        text: str = self.cleaned_data["matchers"]
        try:
            matchers = parse_matchers(text)
        except MatcherError as error:
            raise forms.ValidationError(str(error)) from None
        return "\n".join(str(matcher) for matcher in matchers)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin[AlertRule]):
    form = AlertRuleForm
    list_display = ["name", "matchers", "component", "action", "is_active", "position", "updated_at"]
    list_filter = ["action", "is_active", "component"]
    list_select_related = ["component"]
    search_fields = ["name", "matchers"]
    readonly_fields = ["declare_approved_by", "updated_by", "updated_at"]

    def get_form(
        self, request: HttpRequest, obj: AlertRule | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[AlertRule]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        action = form.base_fields.get("action")
        if isinstance(action, forms.ChoiceField) and not request.user.has_perm(DECLARE_PERMISSION):
            # Only a supervisor may let monitoring put an incident on the public page unreviewed.
            action.choices = [choice for choice in RuleAction.choices if choice[0] != RuleAction.DECLARE]
        category = form.base_fields.get("category")
        if category is not None and obj is None:
            category.initial = IncidentCategory.objects.filter(code="information_system").first()
        return form

    def _declaring_needs_supervisor(self, request: HttpRequest, obj: AlertRule | None) -> bool:
        return obj is not None and obj.action == RuleAction.DECLARE and not request.user.has_perm(DECLARE_PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj: AlertRule | None = None) -> bool:
        return super().has_change_permission(request, obj) and not self._declaring_needs_supervisor(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: AlertRule | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._declaring_needs_supervisor(request, obj)

    def save_model(self, request: HttpRequest, obj: AlertRule, form: AlertRuleForm, change: bool) -> None:
        alert_rule_save(rule=obj, actor=request_user(request))

    def delete_model(self, request: HttpRequest, obj: AlertRule) -> None:
        alert_rule_delete(rule=obj, actor=request_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        for rule in queryset.order_by("pk"):
            alert_rule_delete(rule=rule, actor=request_user(request))


class _ReadOnly(admin.ModelAdmin[_ModelT]):
    """What monitoring sent is a record: nobody adds, edits or deletes it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _ModelT | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _ModelT | None = None) -> bool:
        return False


def _labels(labels: dict[str, str]) -> str:
    return format_html_join(mark_safe("<br>"), '{}="{}"', sorted(labels.items())) or "—"


def _incident_link(incident: Incident | None) -> str:
    if incident is None:
        return "—"
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:incidents_incident_change", args=[incident.pk]), incident.reference
    )


class ReceiptInline(admin.TabularInline[AlertReceipt, Alert]):
    model = AlertReceipt
    fields = ("received_at", "status", "outcome", "detail", "rule", "incident")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-received_at", "-id"]


@admin.register(Alert)
class AlertAdmin(_ReadOnly[Alert]):
    list_display = [
        "alertname",
        "status",
        "component",
        "impact",
        "incident_link",
        "source",
        "starts_at",
        "ends_at",
        "last_received_at",
    ]
    list_filter = ["status", "source", "impact", "component"]
    list_select_related = ["component", "incident"]
    search_fields = ["fingerprint", "alertname"]
    fields = (
        "source",
        "fingerprint",
        "alertname",
        "status",
        "labels_list",
        "annotations_list",
        "starts_at",
        "ends_at",
        "generator_url",
        "rule",
        "component",
        "impact",
        "incident_link",
        "first_received_at",
        "last_received_at",
    )
    readonly_fields = fields
    inlines = [ReceiptInline]

    @admin.display(description=_("labels"))
    def labels_list(self, alert: Alert) -> str:
        return _labels(alert.labels)

    @admin.display(description=_("annotations"))
    def annotations_list(self, alert: Alert) -> str:
        return _labels(alert.annotations)

    @admin.display(description=_("incident"))
    def incident_link(self, alert: Alert) -> str:
        return _incident_link(alert.incident)


@admin.register(AlertReceipt)
class AlertReceiptAdmin(_ReadOnly[AlertReceipt]):
    list_display = ["received_at", "alert", "status", "outcome", "detail", "rule", "component", "incident_link"]
    list_filter = ["outcome", "status", "alert__source", "rule"]
    list_select_related = ["alert", "rule", "component", "incident"]
    search_fields = ["alert__fingerprint", "alert__alertname", "detail"]
    date_hierarchy = "received_at"
    fields = (
        "received_at",
        "alert",
        "fingerprint",
        "labels_list",
        "status",
        "starts_at",
        "ends_at",
        "rule",
        "component",
        "incident_link",
        "outcome",
        "detail",
        "group_key",
        "receiver",
    )
    readonly_fields = fields

    @admin.display(description=_("fingerprint"))
    def fingerprint(self, receipt: AlertReceipt) -> str:
        return receipt.alert.fingerprint

    @admin.display(description=_("labels"))
    def labels_list(self, receipt: AlertReceipt) -> str:
        return _labels(receipt.alert.labels)

    @admin.display(description=_("incident"))
    def incident_link(self, receipt: AlertReceipt) -> str:
        return _incident_link(receipt.incident)
