from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.utils.translation import gettext_lazy as _

from core.ratelimit import (
    LOGIN_FAILURE_WINDOW_SECONDS,
    client_ip,
    login_failure_record,
    login_success_record,
    login_throttled,
)

logger = logging.getLogger(__name__)


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """The admin sign-in, paused after repeated failures for an address and username.

    While paused the password is not even checked, so guessing on cannot tell a
    right password from a wrong one.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": _("Too many failed sign-in attempts. Try again in %(minutes)d minutes."),
    }

    def clean(self) -> dict[str, Any]:
        ip = client_ip(self.request) if self.request else "unknown"
        username = self.cleaned_data.get("username") or ""
        if login_throttled(ip=ip, username=username):
            logger.warning("admin sign-in throttled", extra={"ip": ip})
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": LOGIN_FAILURE_WINDOW_SECONDS // 60},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failure_record(ip=ip, username=username)
            raise
        login_success_record(ip=ip, username=username)
        return cleaned
