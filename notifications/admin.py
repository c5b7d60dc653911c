from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from notifications.models import (
    INTERNAL_EVENTS,
    MERCHANT_EVENTS,
    Channel,
    ChatDestination,
    EventType,
    Notification,
    NotificationTemplate,
    StatusSubscription,
    WebhookEndpoint,
    WebhookEvent,
)
from notifications.rendering import PLACEHOLDERS, render, sms_size, template_placeholders
from notifications.selectors import delivery_figures
from notifications.services import notifications_resend, notifications_retry_failed
from notifications.transports import TransportError, chat_send, webhook_url_refusal
from notifications.webhooks import webhook_endpoint_secret_rotate, webhook_secret_new


class NotificationTemplateForm(forms.ModelForm[NotificationTemplate]):
    class Meta:
        model = NotificationTemplate
        fields = ["event_type", "channel", "language", "subject", "body"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for field in ("subject", "body"):
            try:
                template_placeholders(data.get(field) or "")
            except ValidationError as error:
                self.add_error(field, error)
        return data


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin[NotificationTemplate]):
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
class NotificationAdmin(admin.ModelAdmin[Notification]):
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
    list_filter = ["status", "channel", "event_type", ("incident", IncidentFilter), "webhook_endpoint", "uncertain"]
    list_select_related = ["customer", "subscription", "staff_user"]
    search_fields = ["=customer__external_id", "=recipient", "=provider_message_id", "=event_key"]
    # The body is shown through ``text``: a sign-up confirmation's code and link are never shown.
    readonly_fields = [field.name for field in Notification._meta.fields if field.name != "body"] + ["text"]
    fields = tuple(readonly_fields)
    actions = ["retry_failed", "resend"]
    show_full_result_count = False
    list_per_page = 100
    change_list_template = "admin/notifications/notification/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
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

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        incident_id = request.GET.get("incident__id__exact")
        context = dict(extra_context or {})
        if incident_id and incident_id.isdigit():
            context["delivery_figures"] = delivery_figures(incident_id=int(incident_id))
        return super().changelist_view(request, extra_context=context)

    @admin.action(description=_("Resend webhook deliveries (same webhook-id)"), permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = notifications_resend(notifications=queryset)
        messages.success(request, _("%(count)d webhook deliveries will be sent again.") % {"count": count})

    @admin.action(description=_("Retry the failed ones"), permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = notifications_retry_failed(notifications=queryset)
        messages.success(request, _("%(count)d messages will be sent again.") % {"count": count})


class SubscriptionStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[StatusSubscription]
    ) -> list[tuple[str, StrOrPromise]]:
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
class StatusSubscriptionAdmin(admin.ModelAdmin[StatusSubscription]):
    """Who gets status notices. Read-only: people sign up and leave themselves (double opt-in)."""

    list_display = ["__str__", "channel", "language", "created_at", "confirmed_at", "unsubscribed_at"]
    list_filter = [SubscriptionStateFilter, "channel", "language"]
    search_fields = ["=address"]
    readonly_fields = ["channel", "address", "language", "components", "created_at", "confirmed_at", "unsubscribed_at"]
    fields = tuple(readonly_fields)
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# --- webhooks and chats ---------------------------------------------------------------------


class WebhookEndpointForm(forms.ModelForm[WebhookEndpoint]):
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "merchant", "events", "owner", "is_enabled"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        refusal = webhook_url_refusal(url)
        if refusal:
            raise ValidationError(_("This URL cannot take webhooks: %(why)s.") % {"why": refusal})
        return url

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        events, merchant = set(data.get("events") or []), data.get("merchant")
        allowed = set(MERCHANT_EVENTS) if merchant else set(INTERNAL_EVENTS)
        if events - allowed:
            self.add_error(
                "events",
                _("A merchant's endpoint takes only its orders' events (%(merchant)s); ours take the others.")
                % {"merchant": ", ".join(MERCHANT_EVENTS)},
            )
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    """Endpoints of our own systems and of merchants. The signing secret is shown once,
    when the endpoint is made or its secret rotated; the deliveries are in the outbox."""

    form = WebhookEndpointForm
    list_display = ["name", "merchant", "url", "event_list", "is_enabled", "failing_since", "deliveries"]
    list_filter = ["is_enabled", ("merchant", admin.EmptyFieldListFilter)]
    search_fields = ["name", "url", "=merchant__code"]
    autocomplete_fields = []
    raw_id_fields = ["merchant", "owner"]
    readonly_fields = ["failing_since", "disabled_reason", "previous_secret_until", "created_at", "deliveries"]
    actions = ["rotate_secret", "enable"]

    @admin.display(description=_("events"))
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    @admin.display(description=_("delivery log"))
    def deliveries(self, endpoint: WebhookEndpoint) -> str:
        if not endpoint.pk:
            return "—"
        url = reverse("admin:notifications_notification_changelist") + f"?webhook_endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Deliveries"))

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: WebhookEndpointForm, change: bool) -> None:
        if not change:
            obj.secret = webhook_secret_new()
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None
    ) -> HttpResponse:
        return _secret_page(request, obj, obj.secret)

    @admin.action(
        description=_("Rotate the signing secret (the old one signs too for a while)"), permissions=["change"]
    )
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> TemplateResponse | None:
        if queryset.count() != 1:
            messages.error(request, _("Rotate one endpoint at a time: its new secret is shown once."))
            return None
        endpoint = queryset.get()
        return _secret_page(request, endpoint, webhook_endpoint_secret_rotate(endpoint=endpoint))

    @admin.action(description=_("Enable (deliveries start again)"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        count = queryset.filter(is_enabled=False).update(is_enabled=True, disabled_reason="", failing_since=None)
        messages.success(request, _("%(count)d endpoints enabled.") % {"count": count})


def _secret_page(request: HttpRequest, endpoint: WebhookEndpoint, secret: str) -> TemplateResponse:
    """The secret, in this response only: never in a message, a cookie or a log."""
    return TemplateResponse(
        request,
        "admin/notifications/webhookendpoint/secret.html",
        {
            **admin.site.each_context(request),
            "title": _("Signing secret for %(name)s") % {"name": endpoint.name},
            "endpoint": endpoint,
            "secret": secret,
            "overlap_hours": settings.WEBHOOK_SECRET_OVERLAP_HOURS,
        },
    )


class ChatDestinationForm(forms.ModelForm[ChatDestination]):
    class Meta:
        model = ChatDestination
        fields = ["name", "apprise_url", "roles", "categories", "is_enabled"]
        widgets = {"apprise_url": forms.PasswordInput(render_value=True)}

    def clean_apprise_url(self) -> str:
        import apprise

        url: str = self.cleaned_data["apprise_url"].strip()
        if not apprise.Apprise().add(url):
            raise ValidationError(
                _("Apprise does not know this URL. Check its scheme, e.g. wecombot://, dingtalk://, feishu://.")
            )
        return url


@admin.register(ChatDestination)
class ChatDestinationAdmin(admin.ModelAdmin[ChatDestination]):
    form = ChatDestinationForm
    list_display = ["name", "kind", "is_enabled", "last_tested_at", "last_test_result", "created_at"]
    list_filter = ["is_enabled"]
    filter_horizontal = ["roles", "categories"]
    readonly_fields = ["last_tested_at", "last_test_result"]
    actions = ["send_test"]

    @admin.display(description=_("kind"))
    def kind(self, chat: ChatDestination) -> str:
        return chat.apprise_url.split("://", 1)[0]  # the token after it is a secret

    @admin.action(description=_("Send a test message"), permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[ChatDestination]) -> None:
        for chat in queryset:
            try:
                chat_send(
                    apprise_url=chat.apprise_url,
                    title=str(_("Test from the parcel incident platform")),
                    body=str(_("If you read this, staff alerts reach this chat.")),
                )
            except TransportError as error:
                result = str(error)
                messages.error(request, _("%(chat)s: %(error)s") % {"chat": chat.name, "error": error})
            else:
                result = str(_("taken"))
                messages.success(request, _("%(chat)s: the test message was taken.") % {"chat": chat.name})
            ChatDestination.objects.filter(pk=chat.pk).update(
                last_tested_at=timezone.now(), last_test_result=result[:300]
            )
