from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from compensation.approvals import (
    APPROVE_PERMISSION,
    COMPENSATE_PERMISSION,
    compensation_decide,
    compensation_request_resume,
)
from compensation.models import CompensationRequest, CompensationRule, Coupon, RequestStatus
from compensation.services import coupon_revoke
from core.errors import DomainError
from core.users import request_user
from incidents.models import AffectedReason, Incident


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin[Coupon]):
    list_display = [
        "code",
        "customer",
        "value",
        "minimum_spend",
        "status",
        "source",
        "incident",
        "valid_until",
        "redeemed_at",
    ]
    list_filter = ["status", "source", ("incident", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["customer", "incident"]
    search_fields = ["=code", "=customer__external_id", "=customer__phone", "=order__tracking_number"]
    readonly_fields = [field.name for field in Coupon._meta.fields]
    show_full_result_count = False
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued by rule or from a complaint, through the services

    @admin.action(description=_("Revoke (unredeemed only)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Coupon]) -> None:
        user = request_user(request)
        revoked = sum(
            coupon_revoke(coupon_id=coupon_id, reason=_("revoked by %(user)s") % {"user": user.username})
            for coupon_id in queryset.values_list("pk", flat=True)
        )
        messages.success(request, _("%(count)d coupons revoked.") % {"count": revoked})


@admin.register(CompensationRequest)
class CompensationRequestAdmin(admin.ModelAdmin[CompensationRequest]):
    list_display = [
        "requested_at",
        "kind",
        "status",
        "incident",
        "complaint",
        "orders",
        "cost",
        "requested_by",
        "decided_by",
        "decided_at",
        "issued",
        "error",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["incident", "complaint", "requested_by", "decided_by"]
    readonly_fields = [field.name for field in CompensationRequest._meta.fields]
    actions = ["approve", "reject", "resume"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # asked for from the incident or the complaint page

    def _decide(self, request: HttpRequest, queryset: QuerySet[CompensationRequest], approve: bool) -> None:
        done = 0
        for request_id in queryset.filter(status=RequestStatus.PENDING_APPROVAL).values_list("pk", flat=True):
            try:
                compensation_decide(request_id=request_id, actor=request_user(request), approve=approve)
            except (DomainError, PermissionDenied) as error:
                messages.error(request, str(error) or _("You may not do that."))
                return
            done += 1
        messages.success(request, _("%(count)d requests decided.") % {"count": done})

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(APPROVE_PERMISSION))

    def has_resume_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(COMPENSATE_PERMISSION))

    @admin.action(description=_("Approve and issue"), permissions=["approve"])
    def approve(self, request: HttpRequest, queryset: QuerySet[CompensationRequest]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject"), permissions=["approve"])
    def reject(self, request: HttpRequest, queryset: QuerySet[CompensationRequest]) -> None:
        self._decide(request, queryset, approve=False)

    @admin.action(description=_("Resume issuing (failed or stopped)"), permissions=["resume"])
    def resume(self, request: HttpRequest, queryset: QuerySet[CompensationRequest]) -> None:
        resumed = sum(
            compensation_request_resume(request_id=request_id, actor=request_user(request))
            for request_id in queryset.values_list("pk", flat=True)
        )
        messages.success(request, _("%(count)d requests queued to issue again.") % {"count": resumed})


class CompensationRuleForm(forms.ModelForm[CompensationRule]):
    reason = forms.ChoiceField(
        label=_("affected because"), required=False, choices=[("", _("any reason")), *AffectedReason.choices]
    )

    class Meta:
        model = CompensationRule
        fields = ["reason", "min_delay", "value", "minimum_spend", "valid_days"]
        widgets = {
            "min_delay": forms.TextInput(attrs={"size": 10, "placeholder": "1 00:00:00"}),
            "value": forms.NumberInput(attrs={"style": "width:7em"}),
            "minimum_spend": forms.NumberInput(attrs={"style": "width:7em"}),
            "valid_days": forms.NumberInput(attrs={"style": "width:5em"}),
        }


class CompensationRuleInline(admin.TabularInline[CompensationRule, Incident]):
    model = CompensationRule
    form = CompensationRuleForm
    extra = 1
    fields = ["reason", "min_delay", "value", "minimum_spend", "valid_days"]
    verbose_name_plural = _("Compensation rules (each affected order gets the most valuable rule it matches)")
