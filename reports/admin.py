from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.users import request_user
from incidents.models import Incident
from reports.models import FollowUp
from reports.services import follow_up_complete


class FollowUpInline(admin.TabularInline[FollowUp, Incident]):
    """On the incident page, under the post-incident review."""

    model = FollowUp
    extra = 1
    fields = ["title", "owner", "due_on", "done_at"]
    readonly_fields = ["done_at"]
    verbose_name_plural = _("Follow-up items (improvements with an owner and a due date; owners are reminded daily)")

    # Improvements come out of the review, so not on the declaration form: without
    # any permission on the add page the admin leaves the inline out altogether.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_add_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_delete_permission(request, obj)


class DoneFilter(admin.SimpleListFilter):
    title = _("done")
    parameter_name = "done"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("Not done")), ("yes", _("Done"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
        if self.value() == "no":
            return queryset.filter(done_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(done_at__isnull=False)
        return queryset


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin[FollowUp]):
    list_display = ["title", "incident", "owner", "due_on", "done_at", "reminded_on"]
    list_filter = [DoneFilter, "due_on", ("owner", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["incident", "owner"]
    search_fields = ["title"]
    readonly_fields = ["done_at", "reminded_on"]
    actions = ["mark_done"]

    @admin.action(description=_("Mark done"), permissions=["change"])
    def mark_done(self, request: HttpRequest, queryset: QuerySet[FollowUp]) -> None:
        try:
            done = sum(
                follow_up_complete(follow_up_id=pk, actor=request_user(request))
                for pk in queryset.values_list("pk", flat=True)
            )
        except PermissionDenied as error:
            messages.error(request, str(error))
            return
        messages.success(
            request, ngettext("%(count)d item marked done.", "%(count)d items marked done.", done) % {"count": done}
        )
