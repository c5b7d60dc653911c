"""The customer-service queue: ordered by deadline, worked from one page per complaint."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compensation.requests import compensation_goodwill, goodwill_totals
from complaints.forms import GoodwillForm, ReplyForm
from complaints.models import CannedResponse, Complaint, ComplaintMessage, ComplaintStatus
from complaints.services import complaint_assign, complaint_close, complaint_reply, complaint_resolve
from core.errors import DomainError


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
            return queryset.filter(reply_due_at__gt=now, reply_due_at__lte=now + timezone.timedelta(hours=4))
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
            return queryset.filter(assignee=request.user)
        if self.value() == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset


def _assign_all(queryset: QuerySet[Complaint], *, assignee: Any, actor: Any) -> int:
    """Assign every complaint still open in ``queryset``, each through the service."""
    complaint_ids = list(queryset.exclude(status=ComplaintStatus.CLOSED).values_list("pk", flat=True))
    for complaint_id in complaint_ids:
        complaint_assign(complaint_id=complaint_id, assignee=assignee, actor=actor)
    return len(complaint_ids)


class MessageInline(admin.TabularInline):
    model = ComplaintMessage
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["created_at", "kind", "author", "body"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Conversation")


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
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
    fields = [
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
    ]
    # Everything but the assignee is the record of what happened; replies go through the form above.
    readonly_fields = [name for name in fields if name != "assignee"]
    change_form_template = "admin/complaints/complaint/change_form.html"

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
        assigned = _assign_all(queryset, assignee=request.user, actor=request.user)
        messages.success(request, _("%(count)d complaints are yours now.") % {"count": assigned})

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """ "Assign to me", and one "Assign to <agent>" per agent, for bulk assignment."""
        from django.contrib.auth import get_user_model

        from core.roles import CUSTOMER_SERVICE_AGENT

        actions = super().get_actions(request)
        if not request.user.has_perm("complaints.change_complaint"):
            return actions
        agents = (
            get_user_model()
            .objects.filter(groups__name=CUSTOMER_SERVICE_AGENT, is_active=True)
            .exclude(pk=request.user.pk)
            .order_by("username")
        )
        for agent in agents[:30]:
            name = f"assign_to_{agent.pk}"
            actions[name] = (
                self._assign_action(agent),
                name,
                _("Assign to %(name)s") % {"name": agent.get_full_name() or agent.username},
            )
        return actions

    @staticmethod
    def _assign_action(agent: Any) -> Any:
        def assign(model_admin: ComplaintAdmin, request: HttpRequest, queryset: QuerySet[Complaint]) -> None:
            count = _assign_all(queryset, assignee=agent, actor=request.user)
            messages.success(
                request, _("%(count)d complaints assigned to %(name)s.") % {"count": count, "name": agent.username}
            )

        return assign

    def save_model(self, request: HttpRequest, obj: Complaint, form: Any, change: bool) -> None:
        if "assignee" in form.changed_data and obj.assignee is not None:
            complaint_assign(complaint_id=obj.pk, assignee=obj.assignee, actor=request.user)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        complaint = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if complaint is not None:
            context.update(
                reply_form=ReplyForm(),
                goodwill_form=GoodwillForm(auto_id="goodwill-%s"),
                coupons=complaint.coupons.order_by("-created_at"),
                goodwill_requests=complaint.compensation_requests.filter(status="pending_approval"),
                goodwill_totals=goodwill_totals(complaint=complaint),
                goodwill_period_days=settings.GOODWILL_PERIOD_DAYS,
                goodwill_limits={
                    "coupon": settings.COMPENSATION_AGENT_LIMIT,
                    "complaint": settings.GOODWILL_COMPLAINT_LIMIT,
                    "customer": settings.GOODWILL_CUSTOMER_LIMIT,
                },
                canned_responses=CannedResponse.objects.all(),
                tracking_events=complaint.order.tracking_events.order_by("-occurred_at")[:10]
                if complaint.order_id
                else [],
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:complaint_id>/reply/", wrap(self.reply_view), name="complaints_complaint_reply"),
            path("<int:complaint_id>/resolve/", wrap(self.resolve_view), name="complaints_complaint_resolve"),
            path("<int:complaint_id>/close/", wrap(self.close_view), name="complaints_complaint_close"),
            path("<int:complaint_id>/goodwill/", wrap(self.goodwill_view), name="complaints_complaint_goodwill"),
            *super().get_urls(),
        ]

    def _back(self, complaint_id: int) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:complaints_complaint_change", args=[complaint_id]))

    def reply_view(self, request: HttpRequest, complaint_id: int) -> HttpResponse:
        get_object_or_404(Complaint, pk=complaint_id)
        form = ReplyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                complaint_reply(
                    complaint_id=complaint_id,
                    actor=request.user,
                    body=form.cleaned_data["body"],
                    internal=form.cleaned_data["internal"],
                )
            except (DomainError, PermissionDenied) as error:
                messages.error(request, str(error) or _("You may not do that."))
            else:
                messages.success(
                    request,
                    _("Note saved.") if form.cleaned_data["internal"] else _("Reply saved; the clock is stopped."),
                )
        elif request.method == "POST":
            messages.error(request, _("Write the reply first."))
        return self._back(complaint_id)

    def resolve_view(self, request: HttpRequest, complaint_id: int) -> HttpResponse:
        return self._move(request, complaint_id, complaint_resolve, _("Resolved."))

    def goodwill_view(self, request: HttpRequest, complaint_id: int) -> HttpResponse:
        if not request.user.has_perms(["complaints.change_complaint", "compensation.add_compensationrequest"]):
            raise PermissionDenied
        complaint = get_object_or_404(Complaint, pk=complaint_id)
        form = GoodwillForm(request.POST or None)
        if request.method == "POST" and not form.is_valid():
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
        elif request.method == "POST":
            try:
                compensation = compensation_goodwill(
                    complaint=complaint,
                    actor=request.user,
                    value=form.cleaned_data["value"],
                    note=form.cleaned_data["note"],
                )
            except (DomainError, PermissionDenied) as error:
                messages.error(request, str(error) or _("You may not do that."))
            else:
                if compensation.status == "issued":
                    messages.success(request, _("Coupon issued; the customer is told by SMS and email."))
                else:
                    messages.info(request, _("Above your limit or the caps: a supervisor will decide."))
        return self._back(complaint_id)

    def close_view(self, request: HttpRequest, complaint_id: int) -> HttpResponse:
        return self._move(request, complaint_id, complaint_close, _("Closed."))

    def _move(self, request: HttpRequest, complaint_id: int, move: Any, done: str) -> HttpResponse:
        if request.method == "POST":
            try:
                move(complaint_id=complaint_id, actor=request.user)
            except (DomainError, PermissionDenied) as error:
                messages.error(request, str(error) or _("You may not do that."))
            else:
                messages.success(request, done)
        return self._back(complaint_id)


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "language", "position"]
    list_filter = ["language"]
    list_editable = ["position"]
