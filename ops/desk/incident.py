"""The incident desk: declare, command, tell the public, tie parcels to the incident.

The incident's change page in the admin, with its buttons declared as actions in
``ops/desk/incident_actions.py``; this class holds the list, the form and the saves,
which go through the incidents app's services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compensation.admin import CompensationRuleInline
from core.users import request_user
from incidents.models import Incident, IncidentComponent, LinkJob, LinkJobState
from incidents.services import incident_declare, incident_set_components
from ops.desk.actions import DeskMixin
from ops.desk.incident_actions import INCIDENT_ACTIONS
from ops.selectors import flattened, incident_desk
from reports.admin import FollowUpInline


class IncidentComponentInline(admin.TabularInline[IncidentComponent, Incident]):
    model = IncidentComponent
    extra = 1
    verbose_name_plural = gettext_lazy("Affected service components")


def _target_cell(due_at: Any, met: bool | None, done_at: Any) -> str:
    if due_at is None:
        return "—"
    if met is True:
        return format_html('<span class="incident-badge ok">{}</span>', _("met"))
    if met is False:
        return format_html('<span class="incident-badge bad">{}</span>', _("missed"))
    left = due_at - timezone.now()
    minutes = int(left.total_seconds() // 60)
    css = "warn" if minutes < 30 else "neutral"
    return format_html(
        '<span class="incident-badge {}">{}</span>',
        css,
        _("due in %(minutes)d min") % {"minutes": minutes} if minutes >= 0 else _("overdue"),
    )


class IncidentAdminForm(forms.ModelForm[Incident]):
    keep_internal = forms.BooleanField(
        label=gettext_lazy("Keep internal"),
        required=False,
        help_text=gettext_lazy(
            "Not on the portal and no customer is told until you publish it (e.g. a cyber-security incident)."
        ),
    )

    class Meta:
        model = Incident
        # The admin passes the fieldsets' fields; these are the editable ones.
        fields = [
            "category",
            "severity",
            "commander",
            "title_zh",
            "title_en",
            "summary_zh",
            "summary_en",
            "description",
            "impact_started_at",
            "root_cause",
            "measures_taken",
            "improvements",
        ]


@admin.register(Incident)
class IncidentAdmin(DeskMixin[Incident]):
    form = IncidentAdminForm
    list_display = [
        "reference_link",
        "title_zh",
        "category",
        "severity",
        "status_badge",
        "reported_at",
        "response_target_state",
        "recovery_target_state",
        "commander",
    ]
    list_display_links = None
    list_filter = ["status", "category", "severity", "response_met", "recovery_met"]
    list_select_related = ["category", "commander"]
    search_fields = ["title_zh", "title_en", "summary_zh", "=id"]
    date_hierarchy = "reported_at"
    list_per_page = 50
    inlines = [IncidentComponentInline, CompensationRuleInline, FollowUpInline]
    readonly_fields = [
        "status",
        "reported_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "closed_at",
        "estimated_recovery_at",
        "published_at",
        "response_target",
        "recovery_target",
        "response_due_at",
        "recovery_due_at",
        "response_met",
        "recovery_met",
        "created_by",
    ]
    fieldsets = [
        (None, {"fields": ["category", "severity", "commander", "title_zh", "title_en"]}),
        (gettext_lazy("Public"), {"fields": ["summary_zh", "summary_en", "estimated_recovery_at"]}),
        (gettext_lazy("Internal"), {"fields": ["description"]}),
        (
            gettext_lazy("Milestones"),
            {
                "fields": [
                    "status",
                    "published_at",
                    "impact_started_at",
                    "reported_at",
                    "acknowledged_at",
                    "mitigated_at",
                    "resolved_at",
                    "closed_at",
                ]
            },
        ),
        (
            gettext_lazy("Targets"),
            {
                "fields": [
                    ("response_target", "response_due_at", "response_met"),
                    ("recovery_target", "recovery_due_at", "recovery_met"),
                ]
            },
        ),
        (
            gettext_lazy("Post-incident review"),
            {
                "fields": ["root_cause", "measures_taken", "improvements"],
                "description": gettext_lazy("Needed to close the incident."),
            },
        ),
    ]
    change_form_template = "admin/incidents/incident/change_form.html"
    desk_actions = INCIDENT_ACTIONS

    class Media:
        css = {"all": ["ops/desk.css"]}
        js = ["ops/desk.js"]

    # --- list -------------------------------------------------------------------------
    @admin.display(description=gettext_lazy("incident"), ordering="id")
    def reference_link(self, incident: Incident) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:incidents_incident_change", args=[incident.pk]), incident.reference
        )

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, incident: Incident) -> str:
        return format_html(
            '<span class="incident-badge status-{}">{}</span>', incident.status, incident.get_status_display()
        )

    @admin.display(description=gettext_lazy("response"))
    def response_target_state(self, incident: Incident) -> str:
        return _target_cell(incident.response_due_at, incident.response_met, incident.acknowledged_at)

    @admin.display(description=gettext_lazy("recovery"))
    def recovery_target_state(self, incident: Incident) -> str:
        return _target_cell(incident.recovery_due_at, incident.recovery_met, incident.resolved_at)

    def get_fieldsets(self, request: HttpRequest, obj: Incident | None = None) -> list[Any]:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            return fieldsets
        first_name, first = fieldsets[0]
        return [(first_name, {**first, "fields": [*first["fields"], "keep_internal"]}), *fieldsets[1:]]

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> list[str]:
        # The category sets the targets at declaration; changing it later would rewrite history.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "category"] if obj else fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("incidents.add_incident")

    # --- saving goes through the services -----------------------------------------------
    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        declared = incident_declare(
            actor=request_user(request),
            category=data["category"],
            severity=data["severity"],
            title_zh=data["title_zh"],
            title_en=data.get("title_en", ""),
            summary_zh=data.get("summary_zh", ""),
            summary_en=data.get("summary_en", ""),
            description=data.get("description", ""),
            commander=data.get("commander"),
            impact_started_at=data.get("impact_started_at"),
            publish=not data.get("keep_internal"),
        )
        obj.pk = declared.pk
        obj._state.adding = False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not IncidentComponent:
            super().save_formset(request, form, formset, change)
            return
        impacts = {
            row["component"].pk: row["impact"]
            for row in formset.cleaned_data
            if row and row.get("component") and not row.get("DELETE")
        }
        # The admin's change message reads these, which formset.save() would set.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        current = dict(IncidentComponent.objects.filter(incident=form.instance).values_list("component_id", "impact"))
        if impacts != current:
            incident_set_components(incident_id=form.instance.pk, actor=request_user(request), impacts=impacts)

    # --- the desk around the form ----------------------------------------------------------
    def desk_context(self, request: HttpRequest, obj: Incident) -> dict[str, Any]:
        return flattened(incident_desk(incident=obj, user=request_user(request)))

    def get_urls(self) -> list[URLPattern]:
        progress = path(
            "link-job/<int:job_id>/", self.admin_site.admin_view(self.link_job_view), name="incidents_linkjob_progress"
        )
        return [progress, *super().get_urls()]

    def link_job_view(self, request: HttpRequest, job_id: int) -> JsonResponse:
        if not request.user.has_perm("incidents.view_incident"):
            raise PermissionDenied
        job = get_object_or_404(LinkJob, pk=job_id)
        return JsonResponse(
            {
                "state": job.state,
                "progress": job.progress_percent,
                "linked": job.linked,
                "total": job.total_orders,
                "done": job.state in (LinkJobState.DONE, LinkJobState.FAILED),
            }
        )
