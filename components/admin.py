from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_fsm import TransitionNotAllowed

from components.models import ComponentGroup, ComponentStatusChange, Maintenance, MaintenanceState, ServiceComponent
from components.services import maintenance_complete
from core.users import request_user


@admin.register(ComponentGroup)
class ComponentGroupAdmin(admin.ModelAdmin[ComponentGroup]):
    list_display = ["name_zh", "name_en", "position"]
    list_editable = ["position"]


class StatusChangeInline(admin.TabularInline[ComponentStatusChange, ServiceComponent]):
    model = ComponentStatusChange
    extra = 0
    fields = ("changed_at", "from_status", "to_status", "reason")
    readonly_fields = fields
    can_delete = False
    ordering = ["-changed_at"]
    max_num = 0


@admin.register(ServiceComponent)
class ServiceComponentAdmin(admin.ModelAdmin[ServiceComponent]):
    list_display = ["name_zh", "name_en", "group", "status", "status_changed_at", "is_public", "position"]
    list_filter = ["status", "group", "is_public"]
    list_select_related = ["group"]
    list_editable = ["position", "is_public"]
    search_fields = ["name_zh", "name_en"]
    readonly_fields = ["status", "status_changed_at", "monitoring_status"]
    inlines = [StatusChangeInline]


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin[Maintenance]):
    list_display = ["title_zh", "starts_at", "ends_at", "state"]
    list_filter = ["state"]
    search_fields = ["title_zh", "title_en"]
    filter_horizontal = ["components"]
    readonly_fields = ["state", "started_at", "completed_at", "created_by"]
    actions = ["complete_selected", "cancel_selected"]

    def save_model(
        self, request: HttpRequest, obj: Maintenance, form: forms.ModelForm[Maintenance], change: bool
    ) -> None:
        if not change:
            obj.created_by = request_user(request)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Mark verified and completed"), permissions=["change"])
    def complete_selected(self, request: HttpRequest, queryset: QuerySet[Maintenance]) -> None:
        done = 0
        for maintenance in queryset.filter(state__in=[MaintenanceState.IN_PROGRESS, MaintenanceState.VERIFYING]):
            maintenance_complete(maintenance=maintenance)
            done += 1
        messages.success(request, _("%(count)d maintenance windows completed.") % {"count": done})

    @admin.action(description=_("Cancel scheduled windows"), permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Maintenance]) -> None:
        if not request.user.has_perm("components.change_maintenance"):
            raise PermissionDenied
        cancelled = 0
        for maintenance in queryset.filter(state=MaintenanceState.SCHEDULED):
            try:
                maintenance.cancel()
            except TransitionNotAllowed:
                continue
            maintenance.save()
            cancelled += 1
        messages.success(request, _("%(count)d maintenance windows cancelled.") % {"count": cancelled})
