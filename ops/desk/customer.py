"""A customer's page for the agents: consent (never the contact details) and the
messages sent to them."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from customers.services import customer_consent_set
from notifications.models import Notification


class CustomerForm(forms.ModelForm[Customer]):
    # Consent only: name, phone, email and language come from the order system. Staff who
    # could edit them could send a customer's coupon and complaint link to themselves.
    class Meta:
        model = Customer
        fields = ["sms_consent", "email_consent"]


class MessageHistoryInline(admin.TabularInline[Notification, Customer]):
    model = Notification
    verbose_name_plural = _("Messages sent to this customer")
    fields = readonly_fields = ("created_at", "channel", "event_type", "status", "subject", "body")
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin[Customer]):
    form = CustomerForm
    inlines = [MessageHistoryInline]
    list_display = ["name", "external_id", "phone", "email", "language", "sms_consent", "email_consent", "created_at"]
    list_filter = ["language", "sms_consent", "email_consent"]
    search_fields = ["name", "phone", "email", "external_id"]
    readonly_fields = [
        "external_id",
        "name",
        "phone",
        "email",
        "language",
        "consent_updated_at",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["external_id", "name", "phone", "email", "language"]}),
        (_("Consent"), {"fields": ["sms_consent", "email_consent", "consent_updated_at"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        # Agents type the number the caller reads out: 13800138000 or 138 0013 8000.
        digits = "".join(character for character in search_term if character.isdigit())
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if len(digits) >= 4 and digits != search_term:
            queryset |= self.model.objects.filter(phone__endswith=digits[-11:])
        return queryset, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Customer, form: forms.ModelForm[Customer], change: bool) -> None:
        # Only the consent is written, through the service (which stamps when it changed).
        consent = {"sms": obj.sms_consent, "email": obj.email_consent}
        customer = Customer.objects.get(pk=obj.pk) if change else obj
        if not change:
            super().save_model(request, obj, form, change)
        customer_consent_set(customer=customer, **consent)
