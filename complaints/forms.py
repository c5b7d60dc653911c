from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from complaints.models import Reason
from portal.forms import LookupForm


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 5}))
    internal = forms.BooleanField(
        label=_("Internal note (not sent to the customer, does not stop the clock)"), required=False
    )


class PortalComplaintForm(LookupForm):
    """The parcel lookup's proof (tracking number and phone digits), plus the complaint."""

    reason = forms.ChoiceField(label=_("What went wrong?"), choices=Reason.choices)
    description = forms.CharField(label=_("Tell us more"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5}))


class CustomerMessageForm(forms.Form):
    body = forms.CharField(label=_("Your message"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
