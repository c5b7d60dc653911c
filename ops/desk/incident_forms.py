"""Forms of the incident desk (the incident's change page in the admin)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from incidents.criteria import Estimate, LinkCriteria
from incidents.linking import MAX_TRACKING_LIST, TrackingListError, tracking_list_parse
from incidents.models import AffectedReason, Visibility
from incidents.services import TRANSITIONS
from orders.models import Order, ParcelStatus

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class TransitionForm(forms.Form):
    # The button pressed; the page renders the two notes only.
    action = forms.ChoiceField(choices=[(name, name) for name in TRANSITIONS], widget=forms.HiddenInput)
    body_zh = forms.CharField(label=_("Note (Chinese)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    body_en = forms.CharField(label=_("Note (English)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class UpdateForm(forms.Form):
    body_zh = forms.CharField(
        label=_("Update (Chinese)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Markdown. Shown on the portal when public."),
    )
    body_en = forms.CharField(label=_("Update (English)"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    visibility = forms.ChoiceField(
        label=_("Visibility"), choices=Visibility.choices, initial=Visibility.PUBLIC, widget=forms.RadioSelect
    )
    notify_customers = forms.BooleanField(label=_("Notify affected customers"), required=False, initial=True)
    sms = forms.TypedChoiceField(
        label=_("Also by SMS"),
        choices=[("", _("As usual (new estimate, resolution)")), ("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: {"yes": True, "no": False}.get(value),
        empty_value=None,
        required=False,
        help_text=_("Email goes with every public update; SMS costs money and interrupts."),
    )
    estimated_recovery_at = forms.DateTimeField(
        label=_("New estimated recovery"), required=False, widget=DATETIME_WIDGET
    )


class EstimateForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=AffectedReason.choices, initial=AffectedReason.DELAYED)
    delay_hours = forms.FloatField(
        label=_("Delay (hours)"),
        required=False,
        min_value=-720,
        max_value=2160,
        help_text=_("New estimate = each parcel's promise + this delay."),
    )
    new_estimate = forms.DateTimeField(label=_("or one new estimate"), required=False, widget=DATETIME_WIDGET)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("delay_hours") is not None and data.get("new_estimate"):
            raise ValidationError(_("Give a delay or a new estimate, not both."))
        data["estimate"] = self.estimate()
        return data

    def estimate(self) -> Estimate:
        delay = self.cleaned_data.get("delay_hours")
        return Estimate(
            delay=timedelta(hours=delay) if delay is not None else None, fixed=self.cleaned_data.get("new_estimate")
        )


def _distinct(field: str) -> list[tuple[str, str]]:
    # Hubs and cities are few; the index on each column makes this cheap at 10⁶ orders.
    values = Order.objects.order_by(field).values_list(field, flat=True).distinct()
    return [(value, value) for value in values]


class LinkCriteriaForm(EstimateForm):
    hubs = forms.MultipleChoiceField(label=_("Hubs"), required=False, widget=forms.SelectMultiple(attrs={"size": 6}))
    origin_cities = forms.MultipleChoiceField(
        label=_("Origin cities"), required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    destination_cities = forms.MultipleChoiceField(
        label=_("Destination cities"), required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    statuses = forms.MultipleChoiceField(
        label=_("Parcel status"),
        required=False,
        choices=ParcelStatus.choices,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    created_from = forms.DateTimeField(label=_("Ordered from"), required=False, widget=DATETIME_WIDGET)
    created_to = forms.DateTimeField(label=_("Ordered before"), required=False, widget=DATETIME_WIDGET)
    promised_from = forms.DateTimeField(label=_("Promised from"), required=False, widget=DATETIME_WIDGET)
    promised_to = forms.DateTimeField(label=_("Promised before"), required=False, widget=DATETIME_WIDGET)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, column in (
            ("hubs", "hub"),
            ("origin_cities", "origin_city"),
            ("destination_cities", "destination_city"),
        ):
            cast(forms.MultipleChoiceField, self.fields[name]).choices = _distinct(column)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["criteria"] = self.criteria()
        # Which button: "Count matching orders" previews, "Link them" links.
        data["preview"] = bool(self.data.get("preview"))
        return data

    def criteria(self) -> LinkCriteria:
        data = self.cleaned_data
        return LinkCriteria(
            hubs=data.get("hubs") or [],
            origin_cities=data.get("origin_cities") or [],
            destination_cities=data.get("destination_cities") or [],
            statuses=data.get("statuses") or [],
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            promised_from=data.get("promised_from"),
            promised_to=data.get("promised_to"),
        )


class TrackingListForm(EstimateForm):
    tracking_numbers = forms.CharField(
        label=_("Tracking numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "SF1234567890123"}),
        help_text=_("One per line, or paste a spreadsheet column."),
    )
    upload = forms.FileField(
        label=_("or a CSV file"), required=False, help_text=_("First column: tracking number; a header row is allowed.")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text = data.get("tracking_numbers") or ""
        upload = data.get("upload")
        if upload:
            try:
                text += "\n" + upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError(_("The file is not UTF-8 text; save it as CSV (UTF-8).")) from None
        try:
            numbers = tracking_list_parse(text)
        except TrackingListError as error:
            raise ValidationError(str(error)) from None
        if not numbers:
            raise ValidationError(_("Paste tracking numbers or choose a CSV file."))
        if len(numbers) > MAX_TRACKING_LIST:
            raise ValidationError(_("A list holds at most %(limit)d tracking numbers.") % {"limit": MAX_TRACKING_LIST})
        data["numbers"] = numbers
        return data


class ShiftForm(forms.Form):
    hours = forms.FloatField(label=_("Move every new estimate by (hours)"), min_value=-720, max_value=2160)


class UnlinkForm(forms.Form):
    tracking_numbers = forms.CharField(
        label=_("Unlink these tracking numbers (empty: unlink all)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_tracking_numbers(self) -> list[str] | None:
        try:
            return tracking_list_parse(self.cleaned_data["tracking_numbers"]) or None
        except TrackingListError as error:
            raise ValidationError(str(error)) from None
