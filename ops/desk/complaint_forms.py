"""Forms of the complaint desk (the complaint's change page in the admin)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from compensation.approvals import GOODWILL_MAX_VALUE


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 5}))
    internal = forms.BooleanField(
        label=_("Internal note (not sent to the customer, does not stop the clock)"), required=False
    )


class GoodwillForm(forms.Form):
    # Decimal, not float: "NaN", "Infinity" and 1e9 are form errors, never a crash.
    value = forms.DecimalField(
        label=_("Value (CNY)"), min_value=Decimal("1"), max_value=GOODWILL_MAX_VALUE, max_digits=8, decimal_places=2
    )
    note = forms.CharField(label=_("Reason"), max_length=200, required=False)
