from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from complaints.models import Reason
from customers.phones import normalize_phone


class LookupForm(forms.Form):
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "SF1234567890123"}),
    )
    phone_last4 = forms.RegexField(
        label=_("Last 4 digits of your phone number"),
        regex=r"^\d{4}$",
        max_length=4,
        error_messages={"invalid": _("Enter the last four digits of the phone number on the parcel.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_tracking_number(self) -> str:
        number: str = self.cleaned_data["tracking_number"]
        return number.strip().upper()


class SubscribeForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("How should we tell you?"),
        choices=[("email", _("Email")), ("sms", _("SMS"))],
        initial="email",
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(
        label=_("Email address"), required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "138 0013 8000"}),
    )
    components = forms.MultipleChoiceField(
        label=_("Which systems? (none ticked means all)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, components: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["components"]).choices = components

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("channel") == "email" and not data.get("email"):
            self.add_error("email", _("Enter the email address to send notices to."))
        if data.get("channel") == "sms":
            try:
                data["phone"] = normalize_phone(data.get("phone") or "")
            except ValidationError:
                self.add_error("phone", _("Enter a mobile number, e.g. 138 0013 8000 or +1 202 555 0123."))
        data["address"] = data.get("email", "").strip().lower() if data.get("channel") == "email" else data.get("phone")
        return data


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("The 6-digit code we sent you"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits from the text message.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class PortalComplaintForm(LookupForm):
    """The parcel lookup's proof (tracking number and phone digits), plus the complaint."""

    reason = forms.ChoiceField(label=_("What went wrong?"), choices=Reason.choices)
    description = forms.CharField(label=_("Tell us more"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5}))


class CustomerMessageForm(forms.Form):
    body = forms.CharField(label=_("Your message"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
