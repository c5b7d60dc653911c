from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


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
        return self.cleaned_data["tracking_number"].strip().upper()
