from __future__ import annotations

from django.contrib import admin

from compensation.models import Coupon


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # issued by rule or from a complaint, through the services
