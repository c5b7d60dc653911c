from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from core.forms import ThrottledAdminLoginForm
from core.models import ApiToken, WorkerHeartbeat
from core.services import api_token_issue, api_tokens_revoke

# Repeated failed sign-ins pause sign-in for that address and username.
admin.site.login_form = ThrottledAdminLoginForm


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin[WorkerHeartbeat]):
    list_display = ["worker", "seen_at"]
    readonly_fields = ["worker", "seen_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ApiTokenForm(forms.ModelForm[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["name", "user", "expires_at"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        live = ApiToken.objects.filter(revoked_at__isnull=True)
        if data.get("name") and live.filter(name=data["name"]).exists():
            self.add_error("name", _("This client system has a live token; revoke it first."))
        if data.get("user") and live.filter(user=data["user"]).exists():
            self.add_error("user", _("This account has a live token; revoke it first."))
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Superusers issue and revoke the client systems' tokens; nobody edits one."""

    form = ApiTokenForm
    list_display = ["name", "user", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username"]
    fields = ["name", "user", "expires_at", "key", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        fixed = ["key", "created_at", "last_used_at", "revoked_at"]
        return [*fixed, "name", "user", "expires_at"] if obj else fixed

    def save_model(self, request: HttpRequest, obj: ApiToken, form: ApiTokenForm, change: bool) -> None:
        if change:
            return  # a token is never edited: revoke it and issue another
        token = api_token_issue(name=obj.name, user=obj.user, expires_at=obj.expires_at)
        obj.pk, obj.key, obj._state.adding = token.pk, token.key, False
        messages.warning(request, _("Give the key to %(name)s now: %(key)s") % {"name": token.name, "key": token.key})

    @admin.action(description=_("Revoke"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = api_tokens_revoke(token_ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, _("%(count)d tokens revoked.") % {"count": revoked})
