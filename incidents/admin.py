"""The records around incidents: categories, the timeline, affected orders, target alerts,
link jobs. The incident's own page, the desk, is in ``ops/desk/incident.py``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from incidents.models import (
    AffectedOrder,
    IncidentCategory,
    IncidentUpdate,
    LinkJob,
    TargetAlert,
)


@admin.register(IncidentCategory)
class IncidentCategoryAdmin(admin.ModelAdmin[IncidentCategory]):
    list_display = ["name_zh", "name_en", "code", "response_target", "recovery_target", "position"]
    list_editable = ["position"]
    readonly_fields = ["code"]


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(admin.ModelAdmin[IncidentUpdate]):
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
class AffectedOrderAdmin(admin.ModelAdmin[AffectedOrder]):
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
class TargetAlertAdmin(admin.ModelAdmin[TargetAlert]):
    list_display = ["incident", "target", "kind", "due_at", "created_at"]
    list_filter = ["target", "kind"]
    list_select_related = ["incident"]
    readonly_fields = ["incident", "target", "kind", "due_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(LinkJob)
class LinkJobAdmin(admin.ModelAdmin[LinkJob]):
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
