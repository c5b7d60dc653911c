"""What alerts say on incidents and in the alert log, in both languages.

Incident titles and summaries can become public (a rule that declares, or a person
publishing the draft), so they name the component and its state only; what monitoring
wrote (summaries, descriptions, links) goes to the internal description and timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from components.models import ComponentStatus, ServiceComponent
from incidents.models import Incident, Severity
from monitoring.models import Alert

# A person raises an incident to level 1 (critical); monitoring stops at level 2.
SEVERITY_BY_IMPACT = {
    ComponentStatus.MAJOR_OUTAGE: Severity.MAJOR,
    ComponentStatus.PARTIAL_OUTAGE: Severity.MODERATE,
    ComponentStatus.DEGRADED_PERFORMANCE: Severity.MINOR,
}
# Long lists and texts are cut: a timeline row is read, not searched.
ALERTS_LISTED = 20
TEXT_SHOWN = 300


def name(component: ServiceComponent | None, language: str | None = None) -> str:
    if component is None:
        return "—"
    if (language or translation.get_language() or "").startswith("en"):
        return component.name_en or component.name_zh
    return component.name_zh


def _impact(impact: str, language: str) -> str:
    with translation.override(language):
        return str(ComponentStatus(impact).label)


def no_rule(labels: Mapping[str, str]) -> str:
    if "component" in labels:
        return _('no alert rule matches its labels (component="%(component)s")') % {
            "component": labels["component"][:100]
        }
    return _("no alert rule matches its labels")


def counted(component: ServiceComponent, impact: str) -> str:
    return _("counts for %(component)s: %(impact)s") % {
        "component": name(component),
        "impact": ComponentStatus(impact).label,
    }


def status_reason(alerts: list[Alert]) -> str:
    names = sorted({alert.alertname or alert.fingerprint for alert in alerts})
    return ("monitoring: " + ", ".join(names))[:200] if names else "monitoring"


def _line(alert: Alert) -> str:
    severity = alert.labels.get(alert.rule.severity_label if alert.rule else "severity", "")
    text = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    line = f"**{alert.alertname or alert.fingerprint}**"
    if severity:
        line += f" ({severity})"
    if text:
        line += f" — {text[:TEXT_SHOWN]}"
    return line


def _list(alerts: list[Alert]) -> str:
    lines = [f"- {_line(alert)}" for alert in alerts[:ALERTS_LISTED]]
    if len(alerts) > ALERTS_LISTED:
        lines.append(f"- … +{len(alerts) - ALERTS_LISTED}")
    return "\n".join(lines)


def incident_fields(component: ServiceComponent, impact: str, alerts: list[Alert]) -> dict[str, Any]:
    """Title, public summary, internal description and severity of an incident alerts open."""
    links = "\n".join(
        f"- [{alert.alertname or alert.fingerprint}]({alert.generator_url})"
        for alert in alerts[:ALERTS_LISTED]
        if alert.generator_url.startswith(("http://", "https://"))
    )
    return {
        "title_zh": f"{name(component, 'zh-hans')}:{_impact(impact, 'zh-hans')}",
        "title_en": f"{name(component, 'en')}: {_impact(impact, 'en')}",
        "summary_zh": f"监控发现{name(component, 'zh-hans')}运行异常，我们正在处理。",
        "summary_en": f"Our monitoring found a problem with {name(component, 'en')}; we are working on it.",
        "description": "由监控告警打开 · Opened by monitoring from these alerts:\n\n"
        + _list(alerts)
        + ("\n\n" + links if links else ""),
        "severity": SEVERITY_BY_IMPACT[ComponentStatus(impact)],
    }


def firing_note(alerts: list[Alert]) -> tuple[str, str]:
    listed = _list(alerts)
    return f"监控告警触发:\n\n{listed}", f"Alerts firing:\n\n{listed}"


def resolved_note(alerts: list[Alert], all_clear: ServiceComponent | None) -> tuple[str, str]:
    """The resolution, and when nothing fires any more for the component, the suggestion."""
    listed = _list(alerts)
    body_zh, body_en = f"监控告警已恢复:\n\n{listed}", f"Alerts resolved:\n\n{listed}"
    if all_clear is not None:
        body_zh += (
            f"\n\n{name(all_clear, 'zh-hans')}已无告警，监控显示运行正常。确认恢复后，请解决本事件(系统不会自动解决)。"
        )
        body_en += (
            f"\n\nNo alert fires for {name(all_clear, 'en')} any more: monitoring sees it operational. "
            "Resolve this incident once you have confirmed it (monitoring never resolves it)."
        )
    return body_zh, body_en


def staff_alert(incident: Incident, alerts: list[Alert]) -> tuple[str, str]:
    """Subject and body of the message to staff when alerts open an incident."""
    state = "已公开宣布" if incident.is_published else "内部草稿，待发布"
    subject = f"[{incident.reference}] 监控告警:{incident.title_zh}({state})"
    listed = "\n".join(f"- {_line(alert).replace('**', '')}" for alert in alerts[:ALERTS_LISTED])
    body = (
        f"{incident.reference} {incident.title_zh}\n"
        f"{'Declared publicly by an alert rule' if incident.is_published else 'Internal draft: publish it once confirmed'}\n"
        f"{listed}\n{settings.PUBLIC_BASE_URL}/admin/incidents/incident/{incident.pk}/change/\n"
    )
    return subject, body
