from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from notifications.models import Channel, EventType, Notification, NotificationTemplate, StatusSubscription
from notifications.rendering import PLACEHOLDERS, render, sms_size, template_placeholders
from notifications.selectors import delivery_figures
from notifications.services import notifications_retry_failed


class NotificationTemplateForm(forms.ModelForm):
    class Meta:
        model = NotificationTemplate
        fields = ["event_type", "channel", "language", "subject", "body"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field in ("subject", "body"):
            try:
                template_placeholders(data.get(field) or "")
            except ValidationError as error:
                self.add_error(field, error)
        return data


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = NotificationTemplateForm
    list_display = ["event_type", "channel", "language", "subject", "size", "updated_at"]
    list_filter = ["event_type", "channel", "language"]
    readonly_fields = ["placeholders", "preview", "size"]
    fields = ["event_type", "channel", "language", "subject", "body", "placeholders", "preview", "size"]

    @admin.display(description=_("placeholders you may use"))
    def placeholders(self, template: NotificationTemplate) -> str:
        return format_html_join(" ", "<code>{{{}}}</code>", ((name,) for name in PLACEHOLDERS))

    @admin.display(description=_("preview with sample values"))
    def preview(self, template: NotificationTemplate) -> str:
        if not template.pk:
            return "—"
        try:
            subject, body = render(template.subject, PLACEHOLDERS), render(template.body, PLACEHOLDERS)
        except ValidationError as error:
            return format_html('<span class="errornote">{}</span>', " ".join(error.messages))
        return format_html("<strong>{}</strong><pre style='white-space:pre-wrap'>{}</pre>", subject, body)

    @admin.display(description=_("SMS length"))
    def size(self, template: NotificationTemplate) -> str:
        if template.channel != Channel.SMS or not template.pk:
            return "—"
        try:
            measured = sms_size(render(template.body, PLACEHOLDERS))
        except ValidationError:
            return "—"
        return _("%(characters)d characters, %(segments)d segment(s), %(encoding)s") % {
            "characters": measured.characters,
            "segments": measured.segments,
            "encoding": measured.encoding,
        }


class IncidentFilter(admin.RelatedOnlyFieldListFilter):
    pass


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "customer",
        "subscription",
        "staff_user",
        "channel",
        "event_type",
        "status",
        "attempts",
        "uncertain",
        "created_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "channel", "event_type", ("incident", IncidentFilter), "uncertain"]
    list_select_related = ["customer", "subscription", "staff_user"]
    search_fields = ["=customer__external_id", "=recipient", "=provider_message_id", "=event_key"]
    # The body is shown through ``text``: a sign-up confirmation's code and link are never shown.
    readonly_fields = [field.name for field in Notification._meta.fields if field.name != "body"] + ["text"]
    fields = readonly_fields
    actions = ["retry_failed"]
    show_full_result_count = False
    list_per_page = 100
    change_list_template = "admin/notifications/notification/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the outbox is the record of what customers were told

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        queryset = super().get_queryset(request)
        # Status-page subscribers' addresses are for supervisors only (who may see the
        # subscriptions); everyone else does not see their messages at all, so a search
        # by address cannot tell them who subscribed either.
        if not request.user.has_perm("notifications.view_statussubscription"):
            queryset = queryset.filter(subscription__isnull=True)
        return queryset

    @admin.display(description=_("text"))
    def text(self, notification: Notification) -> str:
        if notification.event_type == EventType.STATUS_CONFIRM:
            return str(_("Not shown: it holds a sign-up code or confirmation link only its recipient may use."))
        return notification.body

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        incident_id = request.GET.get("incident__id__exact")
        context = dict(extra_context or {})
        if incident_id and incident_id.isdigit():
            context["delivery_figures"] = delivery_figures(incident_id=int(incident_id))
        return super().changelist_view(request, extra_context=context)

    @admin.action(description=_("Retry the failed ones"), permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = notifications_retry_failed(notifications=queryset)
        messages.success(request, _("%(count)d messages will be sent again.") % {"count": count})


class SubscriptionStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("Active")), ("pending", _("Awaiting confirmation")), ("ended", _("Unsubscribed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[StatusSubscription]) -> QuerySet[StatusSubscription]:
        if self.value() == "active":
            return queryset.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)
        if self.value() == "pending":
            return queryset.filter(confirmed_at__isnull=True, unsubscribed_at__isnull=True)
        if self.value() == "ended":
            return queryset.filter(unsubscribed_at__isnull=False)
        return queryset


@admin.register(StatusSubscription)
class StatusSubscriptionAdmin(admin.ModelAdmin):
    """Who gets status notices. Read-only: people sign up and leave themselves (double opt-in)."""

    list_display = ["__str__", "channel", "language", "created_at", "confirmed_at", "unsubscribed_at"]
    list_filter = [SubscriptionStateFilter, "channel", "language"]
    search_fields = ["=address"]
    readonly_fields = ["channel", "address", "language", "components", "created_at", "confirmed_at", "unsubscribed_at"]
    fields = readonly_fields
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
