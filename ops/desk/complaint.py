"""The customer-service queue, ordered by deadline, and the complaint desk: one page per
complaint with the conversation, the reply box, the parcel and goodwill coupons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.models import Complaint, ComplaintMessage, ComplaintStatus
from complaints.services import complaint_assign
from core.roles import CUSTOMER_SERVICE_AGENT
from core.users import request_user
from ops.desk.actions import DeskMixin
from ops.desk.complaint_actions import COMPLAINT_ACTIONS
from ops.selectors import complaint_desk, flattened


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("deadline")
    parameter_name = "deadline"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("overdue", gettext_lazy("Overdue")),
            ("soon", gettext_lazy("Due within 4 hours")),
            ("answered", gettext_lazy("No reply owed")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Complaint]) -> QuerySet[Complaint]:
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(reply_due_at__lte=now)
        if self.value() == "soon":
            return queryset.filter(reply_due_at__gt=now, reply_due_at__lte=now + timedelta(hours=4))
        if self.value() == "answered":
            return queryset.filter(reply_due_at__isnull=True)
        return queryset


class MineFilter(admin.SimpleListFilter):
    title = gettext_lazy("assignee")
    parameter_name = "mine"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("me", gettext_lazy("My complaints")), ("nobody", gettext_lazy("Unassigned"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Complaint]) -> QuerySet[Complaint]:
        if self.value() == "me":
            return queryset.filter(assignee=request_user(request))
        if self.value() == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset


def _assign_all(queryset: QuerySet[Complaint], *, assignee: User, actor: User) -> int:
    """Assign every complaint still open in ``queryset``, each through the service."""
    complaint_ids = list(queryset.exclude(status=ComplaintStatus.CLOSED).values_list("pk", flat=True))
    for complaint_id in complaint_ids:
        complaint_assign(complaint_id=complaint_id, assignee=assignee, actor=actor)
    return len(complaint_ids)


class MessageInline(admin.TabularInline[ComplaintMessage, Complaint]):
    model = ComplaintMessage
    extra = 0
    max_num = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "kind", "author", "body")
    verbose_name_plural = gettext_lazy("Conversation")


COMPLAINT_FIELDS = (
    "reference",
    "status",
    "customer",
    "order",
    "incident",
    "reason",
    "channel",
    "assignee",
    "reply_due_at",
    "first_response_at",
    "escalated",
    "created_at",
)


@admin.register(Complaint)
class ComplaintAdmin(DeskMixin[Complaint]):
    list_display = [
        "reference",
        "time_left",
        "escalated",
        "status",
        "reason",
        "customer",
        "assignee",
        "incident",
        "created_at",
    ]
    list_filter = [
        OverdueFilter,
        MineFilter,
        "status",
        "reason",
        "escalated",
        ("incident", admin.RelatedOnlyFieldListFilter),
        ("assignee", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["customer", "assignee", "incident"]
    search_fields = ["=reference", "=customer__phone", "customer__name", "=order__tracking_number"]
    actions = ["assign_to_me"]
    inlines = [MessageInline]
    list_per_page = 50
    fields = COMPLAINT_FIELDS
    # Everything but the assignee is the record of what happened; replies go through the form above.
    readonly_fields = tuple(name for name in COMPLAINT_FIELDS if name != "assignee")
    change_form_template = "admin/complaints/complaint/change_form.html"
    desk_actions = COMPLAINT_ACTIONS

    class Media:
        css = {"all": ["ops/desk.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Complaint]:
        # The queue: the next deadline first, complaints owing nothing last.
        return super().get_queryset(request).order_by(F("reply_due_at").asc(nulls_last=True), "id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # filed on the portal or through the API, which start the clock

    @admin.display(description=gettext_lazy("time left"), ordering="reply_due_at")
    def time_left(self, complaint: Complaint) -> str:
        if complaint.reply_due_at is None:
            return "—"
        minutes = int((complaint.reply_due_at - timezone.now()).total_seconds() // 60)
        if minutes < 0:
            return format_html(
                '<strong style="color:#a40e26">{}</strong>',
                _("overdue by %(hours)d h %(minutes)d min") % {"hours": -minutes // 60, "minutes": -minutes % 60},
            )
        style = "color:#7d4e00;font-weight:600" if minutes < 240 else ""
        return format_html(
            '<span style="{}">{}</span>',
            style,
            _("%(hours)d h %(minutes)d min") % {"hours": minutes // 60, "minutes": minutes % 60},
        )

    @admin.action(description=gettext_lazy("Assign to me"), permissions=["change"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Complaint]) -> None:
        user = request_user(request)
        assigned = _assign_all(queryset, assignee=user, actor=user)
        messages.success(request, _("%(count)d complaints are yours now.") % {"count": assigned})

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """ "Assign to me", and one "Assign to <agent>" per agent, for bulk assignment."""
        actions = super().get_actions(request)
        if not request.user.has_perm("complaints.change_complaint"):
            return actions
        agents = (
            User.objects.filter(groups__name=CUSTOMER_SERVICE_AGENT, is_active=True)
            .exclude(pk=request_user(request).pk)
            .order_by("username")
        )
        for agent in agents[:30]:
            name = f"assign_to_{agent.pk}"
            # django-stubs types an action as returning str; Django takes None (or a response).
            actions[name] = (  # type: ignore[assignment]
                self._assign_action(agent),
                name,
                _("Assign to %(name)s") % {"name": agent.get_full_name() or agent.username},
            )
        return actions

    @staticmethod
    def _assign_action(agent: User) -> Callable[[ComplaintAdmin, HttpRequest, QuerySet[Complaint]], None]:
        def assign(model_admin: ComplaintAdmin, request: HttpRequest, queryset: QuerySet[Complaint]) -> None:
            count = _assign_all(queryset, assignee=agent, actor=request_user(request))
            messages.success(
                request, _("%(count)d complaints assigned to %(name)s.") % {"count": count, "name": agent.username}
            )

        return assign

    def save_model(self, request: HttpRequest, obj: Complaint, form: Any, change: bool) -> None:
        if "assignee" in form.changed_data and obj.assignee is not None:
            complaint_assign(complaint_id=obj.pk, assignee=obj.assignee, actor=request_user(request))

    def desk_context(self, request: HttpRequest, obj: Complaint) -> dict[str, Any]:
        return flattened(complaint_desk(complaint=obj))
