"""The incident desk: declare, command, tell the public, tie parcels to the incident.

Every button posts to a small view here that calls a service; the admin class
itself holds no business rules.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import can_proceed

from compensation.admin import CompensationRuleInline
from compensation.requests import COMPENSATE_PERMISSION, compensation_request_incident
from compensation.rules import compensation_preview
from compensation.selectors import incident_compensation_cost
from core.errors import DomainError
from incidents import linking
from incidents.forms import LinkCriteriaForm, ShiftForm, TrackingListForm, TransitionForm, UpdateForm
from incidents.models import (
    LINK_PERMISSION,
    MANAGE_PERMISSION,
    AffectedOrder,
    Incident,
    IncidentCategory,
    IncidentComponent,
    IncidentUpdate,
    LinkJob,
    LinkJobState,
    TargetAlert,
)
from incidents.selectors import affected_counts_by_reason
from incidents.services import (
    TRANSITIONS,
    incident_declare,
    incident_post_update,
    incident_publish,
    incident_set_components,
    incident_transition,
)
from reports.admin import FollowUpInline

TRANSITION_LABELS = {
    "acknowledge": gettext_lazy("Acknowledge"),
    "investigate": gettext_lazy("Investigating"),
    "identify": gettext_lazy("Cause identified"),
    "monitor": gettext_lazy("Fix in place, monitoring"),
    "resolve": gettext_lazy("Resolve"),
    "close": gettext_lazy("Close with review"),
    "reopen": gettext_lazy("Reopen"),
}
TIMELINE_SHOWN = 50


@admin.register(IncidentCategory)
class IncidentCategoryAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "code", "response_target", "recovery_target", "position"]
    list_editable = ["position"]
    readonly_fields = ["code"]


class IncidentComponentInline(admin.TabularInline):
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


class IncidentAdminForm(forms.ModelForm):
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
class IncidentAdmin(admin.ModelAdmin):
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
    autocomplete_fields: list[str] = []
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

    class Media:
        css = {"all": ["incidents/desk.css"]}
        js = ["incidents/desk.js"]

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
        fieldsets = super().get_fieldsets(request, obj)
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
            actor=request.user,
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
            incident_set_components(incident_id=form.instance.pk, actor=request.user, impacts=impacts)

    # --- the desk around the form ----------------------------------------------------------
    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        incident = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if incident is not None:
            context.update(self._desk_context(request, incident))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _desk_context(self, request: HttpRequest, incident: Incident) -> dict[str, Any]:
        user = request.user
        may_manage = user.has_perm(MANAGE_PERMISSION)
        actions = []
        for action in TRANSITIONS:
            method = getattr(incident, action)
            if can_proceed(method, check_conditions=False) and method._django_fsm.has_transition_perm(
                incident, incident.status, user
            ):
                actions.append({"name": action, "label": TRANSITION_LABELS[action], "ready": can_proceed(method)})
        counts = affected_counts_by_reason(incident=incident)
        reason_labels = dict(AffectedOrder._meta.get_field("reason").choices)
        return {
            "may_manage": may_manage,
            "may_link": user.has_perm(LINK_PERMISSION),
            "may_compensate": user.has_perm(COMPENSATE_PERMISSION),
            "transition_actions": actions,
            # Several forms share field names; distinct ids keep their labels apart.
            "transition_form": TransitionForm(auto_id="transition_%s"),
            "update_form": UpdateForm(
                auto_id="update_%s", initial={"estimated_recovery_at": incident.estimated_recovery_at}
            ),
            "criteria_form": LinkCriteriaForm(auto_id="criteria_%s"),
            "list_form": TrackingListForm(auto_id="list_%s"),
            "shift_form": ShiftForm(auto_id="shift_%s"),
            "affected_total": sum(counts.values()),
            "affected_by_reason": [
                (reason_labels.get(reason, reason), count)
                for reason, count in sorted(counts.items(), key=lambda item: -item[1])
            ],
            "link_jobs": incident.link_jobs.order_by("-created_at")[:3],
            "timeline": incident.updates.select_related("author").order_by("-created_at", "-id")[:TIMELINE_SHOWN],
            "timeline_total": incident.updates.count(),
            "alerts": TargetAlert.objects.filter(incident=incident).order_by("-created_at"),
            "compensation_lines": compensation_preview(incident=incident),
            "compensation_cost": incident_compensation_cost(incident=incident),
            "compensation_requests": incident.compensation_requests.select_related(
                "requested_by", "decided_by"
            ).order_by("-requested_at")[:5],
            "list_report": request.session.pop(f"incident-{incident.pk}-list-report", None),
            "criteria_preview": request.session.pop(f"incident-{incident.pk}-preview", None),
        }

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:incident_id>/transition/", wrap(self.transition_view), name="incidents_incident_transition"),
            path("<int:incident_id>/post-update/", wrap(self.post_update_view), name="incidents_incident_post_update"),
            path("<int:incident_id>/publish/", wrap(self.publish_view), name="incidents_incident_publish"),
            path(
                "<int:incident_id>/link-criteria/",
                wrap(self.link_criteria_view),
                name="incidents_incident_link_criteria",
            ),
            path("<int:incident_id>/link-list/", wrap(self.link_list_view), name="incidents_incident_link_list"),
            path("<int:incident_id>/shift/", wrap(self.shift_view), name="incidents_incident_shift"),
            path("<int:incident_id>/unlink/", wrap(self.unlink_view), name="incidents_incident_unlink"),
            path("link-job/<int:job_id>/", wrap(self.link_job_view), name="incidents_linkjob_progress"),
            path("<int:incident_id>/compensate/", wrap(self.compensate_view), name="incidents_incident_compensate"),
            *super().get_urls(),
        ]

    def _back(self, incident_id: int, anchor: str = "") -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:incidents_incident_change", args=[incident_id]) + anchor)

    def _run(self, request: HttpRequest, call: Any, success: str) -> None:
        try:
            call()
        except (DomainError, PermissionDenied) as error:
            messages.error(request, str(error) or _("You may not do that."))
        else:
            messages.success(request, success)

    def _form_errors(self, request: HttpRequest, form: Any) -> None:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))

    @staticmethod
    def _require(request: HttpRequest, permission: str = MANAGE_PERMISSION) -> None:
        if not request.user.has_perm(permission):
            raise PermissionDenied

    @staticmethod
    def _incident(incident_id: int) -> Incident:
        return get_object_or_404(Incident, pk=incident_id)

    def transition_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        if request.method != "POST":
            return self._back(incident_id)
        action = request.POST.get("action", "")
        form = TransitionForm(request.POST)
        form.is_valid()
        self._run(
            request,
            lambda: incident_transition(
                incident_id=self._incident(incident_id).pk, action=action, actor=request.user, **form.cleaned_data
            ),
            _("Done: %(action)s.") % {"action": TRANSITION_LABELS.get(action, action)},
        )
        return self._back(incident_id)

    def post_update_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        self._require(request)
        form = UpdateForm(request.POST or None)
        if request.method != "POST" or not form.is_valid():
            self._form_errors(request, form)
            return self._back(incident_id, "#post-update")
        data = dict(form.cleaned_data)
        incident = self._incident(incident_id)
        if data["estimated_recovery_at"] == incident.estimated_recovery_at:
            data.pop("estimated_recovery_at")
        self._run(
            request,
            lambda: incident_post_update(incident_id=incident.pk, actor=request.user, **data),
            _("The update is posted."),
        )
        return self._back(incident_id, "#timeline")

    def publish_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        self._require(request)
        if request.method == "POST":
            self._run(
                request,
                lambda: incident_publish(incident_id=self._incident(incident_id).pk, actor=request.user),
                _("Published: the portal shows the incident and its customers are told."),
            )
        return self._back(incident_id)

    def link_criteria_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        self._require(request, LINK_PERMISSION)
        incident = self._incident(incident_id)
        form = LinkCriteriaForm(request.POST or None)
        if request.method != "POST" or not form.is_valid():
            self._form_errors(request, form)
            return self._back(incident_id, "#affected-orders")
        options = {
            "incident": incident,
            "criteria": form.criteria(),
            "reason": form.cleaned_data["reason"],
            "estimate": form.estimate(),
            "actor": request.user,
        }
        try:
            preview = linking.incident_link_preview(incident=incident, criteria=options["criteria"])
            if "preview" in request.POST:
                request.session[f"incident-{incident.pk}-preview"] = {
                    "matching": preview.matching,
                    "already_linked": preview.already_linked,
                    "to_link": preview.to_link,
                }
            elif preview.matching > linking.SYNCHRONOUS_LINK_LIMIT:
                job = linking.link_job_start(**options)
                messages.info(
                    request,
                    _("Linking %(count)d orders in the background; progress is shown below.")
                    % {"count": job.total_orders},
                )
            else:
                linked = linking.incident_link_orders(**options)
                messages.success(
                    request,
                    _("Linked %(linked)d new orders (%(already)d were already linked).")
                    % {"linked": linked, "already": preview.already_linked},
                )
        except (DomainError, PermissionDenied) as error:
            messages.error(request, str(error))
        return self._back(incident_id, "#affected-orders")

    def link_list_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        self._require(request, LINK_PERMISSION)
        incident = self._incident(incident_id)
        form = TrackingListForm(request.POST or None, request.FILES or None)
        if request.method != "POST" or not form.is_valid():
            self._form_errors(request, form)
            return self._back(incident_id, "#affected-orders")
        try:
            report = linking.incident_link_tracking_numbers(
                incident=incident,
                tracking_numbers=form.cleaned_data["numbers"],
                reason=form.cleaned_data["reason"],
                estimate=form.estimate(),
                actor=request.user,
            )
        except (DomainError, PermissionDenied) as error:
            messages.error(request, str(error))
            return self._back(incident_id, "#affected-orders")
        request.session[f"incident-{incident.pk}-list-report"] = {
            "ok": report.ok,
            "total": report.total,
            "linked": report.linked,
            "malformed": report.malformed[:200],
            "unknown": report.unknown[:200],
            "duplicates": report.duplicates[:200],
            "already_linked": report.already_linked[:200],
            "counts": {
                "malformed": len(report.malformed),
                "unknown": len(report.unknown),
                "duplicates": len(report.duplicates),
                "already_linked": len(report.already_linked),
            },
        }
        if report.ok:
            messages.success(request, _("Linked %(linked)d orders from the list.") % {"linked": report.linked})
        else:
            messages.error(request, _("Nothing was linked: fix the lines listed below and send the whole list again."))
        return self._back(incident_id, "#affected-orders")

    def shift_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        self._require(request)
        form = ShiftForm(request.POST or None)
        if request.method != "POST" or not form.is_valid():
            self._form_errors(request, form)
            return self._back(incident_id, "#affected-orders")
        from datetime import timedelta

        self._run(
            request,
            lambda: linking.incident_shift_estimates(
                incident=self._incident(incident_id),
                actor=request.user,
                delta=timedelta(hours=form.cleaned_data["hours"]),
            ),
            _("Estimates moved."),
        )
        return self._back(incident_id, "#affected-orders")

    def unlink_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        self._require(request)
        if request.method == "POST":
            text = request.POST.get("tracking_numbers", "")
            self._run(
                request,
                lambda: linking.incident_unlink_orders(
                    incident=self._incident(incident_id),
                    actor=request.user,
                    tracking_numbers=linking.parse_tracking_list(text) or None,
                ),
                _("Orders unlinked."),
            )
        return self._back(incident_id, "#affected-orders")

    def compensate_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        self._require(request, COMPENSATE_PERMISSION)
        if request.method == "POST":
            self._run(
                request,
                lambda: compensation_request_incident(incident=self._incident(incident_id), actor=request.user),
                _("Compensation requested: issued at once within the limit, otherwise a supervisor decides."),
            )
        return self._back(incident_id, "#compensation")

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


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(admin.ModelAdmin):
    list_display = ["incident", "created_at", "kind", "visibility", "status", "author"]
    list_filter = ["visibility", "kind"]
    list_select_related = ["incident", "author"]
    search_fields = ["body_zh", "body_en", "=incident__id"]
    readonly_fields = [
        "incident",
        "kind",
        "visibility",
        "status",
        "from_status",
        "body_zh",
        "body_en",
        "notify_customers",
        "author",
        "created_at",
    ]
    exclude = ["body_zh_html", "body_en_html"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # updates are posted from the incident page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the timeline is a record; correct it with a new entry


@admin.register(AffectedOrder)
class AffectedOrderAdmin(admin.ModelAdmin):
    list_display = ["order", "incident", "reason", "original_promise", "new_estimate", "linked_at", "linked_by"]
    list_filter = ["reason", "incident"]
    list_select_related = ["order", "incident", "linked_by"]
    search_fields = ["=order__tracking_number"]
    readonly_fields = ["incident", "order", "original_promise", "linked_at", "linked_by"]
    fields = ["incident", "order", "reason", "original_promise", "new_estimate", "linked_at", "linked_by"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # linked in bulk from the incident page

    def get_queryset(self, request: HttpRequest) -> QuerySet[AffectedOrder]:
        return super().get_queryset(request).order_by("-id")


@admin.register(TargetAlert)
class TargetAlertAdmin(admin.ModelAdmin):
    list_display = ["incident", "target", "kind", "due_at", "created_at"]
    list_filter = ["target", "kind"]
    list_select_related = ["incident"]
    readonly_fields = ["incident", "target", "kind", "due_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(LinkJob)
class LinkJobAdmin(admin.ModelAdmin):
    list_display = [
        "incident",
        "state",
        "total_orders",
        "linked",
        "progress",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["state"]
    list_select_related = ["incident", "created_by"]
    readonly_fields = [
        "incident",
        "criteria",
        "state",
        "total_orders",
        "linked",
        "error",
        "created_by",
        "created_at",
        "finished_at",
    ]

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, job: LinkJob) -> str:
        return f"{job.progress_percent} %"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
