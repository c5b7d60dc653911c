from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from orders.models import Merchant, Order, TrackingEvent


class TrackingEventInline(admin.TabularInline[TrackingEvent, Order]):
    model = TrackingEvent
    extra = 0
    fields = ("occurred_at", "status", "location", "description")
    readonly_fields = fields
    ordering = ["-occurred_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = [
        "tracking_number",
        "customer",
        "status",
        "hub",
        "origin_city",
        "destination_city",
        "promised_delivery",
        "current_estimate",
    ]
    list_filter = ["status", "hub", "destination_city"]
    list_select_related = ["customer"]
    search_fields = ["=tracking_number", "customer__name", "customer__phone", "=customer__external_id"]
    date_hierarchy = "promised_delivery"
    readonly_fields = ["tracking_number", "customer", "merchant", "created_at", "updated_at"]
    autocomplete_fields = []
    show_full_result_count = False
    list_per_page = 50
    inlines = [TrackingEventInline]
    fieldsets = [
        (None, {"fields": ["tracking_number", "customer", "merchant", "status"]}),
        (_("Route"), {"fields": ["origin_city", "destination_city", "hub"]}),
        (_("Delivery"), {"fields": ["promised_delivery", "current_estimate"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        # A tracking number is the common search: answer it from the unique index
        # (the admin's "=" search is iexact, which PostgreSQL cannot serve from it).
        term = search_term.strip().upper()
        if term:
            exact = queryset.filter(tracking_number=term)
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin[Merchant]):
    """Merchants come from the order system; staff read them here and give them webhook endpoints."""

    list_display = ["code", "name", "created_at"]
    search_fields = ["=code", "name"]
    readonly_fields = ["code", "name", "created_at"]
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(TrackingEvent)
class TrackingEventAdmin(admin.ModelAdmin[TrackingEvent]):
    list_display = ["order", "occurred_at", "status", "location", "description"]
    list_filter = ["status"]
    list_select_related = ["order"]
    search_fields = ["=order__tracking_number", "location"]
    readonly_fields = ["order", "occurred_at", "status", "location", "description", "recorded_at"]
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
