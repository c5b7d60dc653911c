from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import IncidentCategory, Severity
from reports.selectors import Filters

DEFAULT_WEEKS = 8
# A year of weeks keeps the trend chart readable and the queries bounded.
LONGEST_PERIOD = timedelta(days=366)


class DashboardFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=IncidentCategory.objects.all(), required=False, empty_label=_("All categories")
    )
    severity = forms.TypedChoiceField(
        label=_("Severity"),
        choices=[("", _("All severities")), *Severity.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )

    @staticmethod
    def default_period(today: date | None = None) -> tuple[date, date]:
        today = today or timezone.localdate()
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(weeks=DEFAULT_WEEKS - 1), today

    def __init__(self, data: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        start, end = self.default_period()
        given = {key: value for key, value in (data or {}).items() if key in ("start", "end", "category", "severity")}
        super().__init__({"start": start.isoformat(), "end": end.isoformat(), **given}, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The period ends before it starts."))
            if end - start > LONGEST_PERIOD:
                raise forms.ValidationError(_("Choose a period of at most a year."))
        return cleaned

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(start=data["start"], end=data["end"], category=data["category"], severity=data["severity"])
