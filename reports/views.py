"""The dashboard and the post-incident report: staff pages inside the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.utils.translation import gettext as _

from incidents.models import Incident
from reports import charts
from reports.forms import DashboardFilterForm
from reports.models import VIEW_REPORTS_PERMISSION
from reports.selectors import (
    REPLY_HOUR_BUCKETS,
    TARGET_SHARE_BUCKETS,
    Dashboard,
    dashboard,
    incident_report,
)
from reports.tables import TABLES, affected_by_reason, delivery_by_channel, rule_label

REPORT_LANGUAGES = ("zh-hans", "en")
INCIDENTS_LISTED = 50


def _require_reader(request: HttpRequest) -> None:
    if not request.user.has_perm(VIEW_REPORTS_PERMISSION):
        raise PermissionDenied


def _charts(board: Dashboard) -> dict[str, Any]:
    share_labels = [f"≤{limit * 100:.0f}%" for limit in TARGET_SHARE_BUCKETS] + [
        f">{TARGET_SHARE_BUCKETS[-1] * 100:.0f}%"
    ]
    on_target = TARGET_SHARE_BUCKETS.index(1.0)
    hour_labels = [f"≤{limit}h" for limit in REPLY_HOUR_BUCKETS] + [f">{REPLY_HOUR_BUCKETS[-1]}h"]
    return {
        "incident_weeks": charts.bar_chart(
            bars=[
                charts.Bar(label=week["week"].strftime("%m-%d"), value=week["count"], overlay=week["missed"])
                for week in board.incident_weeks
            ],
            description=_("Incidents per week; red: missing a target"),
        ),
        "recovery_distribution": charts.distribution_chart(
            labels=share_labels,
            counts=board.recovery_distribution,
            target_after=on_target,
            target_label=_("target"),
            description=_("Time to recover as a share of the target"),
        ),
        "response_distribution": charts.distribution_chart(
            labels=share_labels,
            counts=board.response_distribution,
            target_after=on_target,
            target_label=_("target"),
            description=_("Time to acknowledge as a share of the target"),
        ),
        "complaint_weeks": charts.bar_chart(
            bars=[
                charts.Bar(
                    label=week["week"].strftime("%m-%d"),
                    value=week["count"],
                    ratio=week["in_time"] / week["owed"] if week["owed"] else None,
                )
                for week in board.complaint_weeks
            ],
            description=_("Complaints per week and the share replied within 24 hours"),
        ),
        "reply_distribution": charts.distribution_chart(
            labels=hour_labels,
            counts=board.reply_distribution,
            target_after=REPLY_HOUR_BUCKETS.index(24),
            target_label="24h",
            description=_("Hours to the first reply to a complaint"),
        ),
    }


def dashboard_page(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    form = DashboardFilterForm(request.GET)
    context: dict[str, Any] = {**admin.site.each_context(request), "title": _("Evaluation dashboard"), "form": form}
    if not form.is_valid():
        return render(request, "reports/dashboard.html", context, status=400)
    filters = form.filters()
    board = dashboard(filters=filters)
    tables = {key: build(board) for key, build in TABLES.items()}
    export = request.GET.get("export")
    if export:
        if export not in tables:
            raise Http404
        response = HttpResponse(tables[export].as_csv(), content_type="text/csv; charset=utf-8")
        filename = f"{export}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    query = request.GET.copy()
    query.pop("export", None)
    context.update(
        board=board,
        tables=tables,
        charts=_charts(board),
        query=query.urlencode(),
        incidents=filters.incidents().select_related("category").order_by("-reported_at")[:INCIDENTS_LISTED],
    )
    return render(request, "reports/dashboard.html", context)


def _report_context(incident: Incident) -> dict[str, Any]:
    report = incident_report(incident=incident)
    return {
        "report": report,
        "incident": incident,
        "rules": [{"label": rule_label(row), **row} for row in report.compensation["by_rule"]],
        "affected_rows": affected_by_reason(report.customers).display_rows(),
        # The report's channel table leaves out the message total the dashboard shows.
        "channel_rows": [row[:1] + row[2:] for row in delivery_by_channel(report.customers).display_rows()],
    }


def incident_report_page(request: HttpRequest, incident_id: int) -> HttpResponse:
    _require_reader(request)
    incident = get_object_or_404(Incident.objects.select_related("category", "commander"), pk=incident_id)
    context = {
        **admin.site.each_context(request),
        **_report_context(incident),
        "title": _("Post-incident report"),
        "languages": REPORT_LANGUAGES,
    }
    return render(request, "reports/incident_report.html", context)


def incident_report_pdf(request: HttpRequest, incident_id: int) -> HttpResponse:
    """The report as a printable PDF, in Chinese (default) or English (``?language=en``)."""
    from reports.pdf import render_pdf

    _require_reader(request)
    incident = get_object_or_404(Incident.objects.select_related("category", "commander"), pk=incident_id)
    language = request.GET.get("language", "zh-hans")
    if language not in REPORT_LANGUAGES:
        raise Http404
    with translation.override(language):
        pdf = render_pdf(
            "reports/incident_report_pdf.html", _report_context(incident), base_url=request.build_absolute_uri("/")
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{incident.reference}-{language}.pdf"'
    return response
