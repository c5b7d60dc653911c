from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from complaints.models import Reason


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 5}))
    internal = forms.BooleanField(
        label=_("Internal note (not sent to the customer, does not stop the clock)"), required=False
    )


class PortalComplaintForm(forms.Form):
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
    reason = forms.ChoiceField(label=_("What went wrong?"), choices=Reason.choices)
    description = forms.CharField(label=_("Tell us more"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5}))

    def clean_tracking_number(self) -> str:
        return self.cleaned_data["tracking_number"].strip().upper()


class CustomerMessageForm(forms.Form):
    body = forms.CharField(label=_("Your message"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
