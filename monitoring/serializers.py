"""The payloads monitoring systems post, read as they send them.

Field names are the senders' own (``startsAt``, ``generatorURL``): Alertmanager's
webhook (version 4), Grafana's unified-alerting webhook (version 1), and a plain
shape for anything else. Fields we do not use are accepted and left alone, so a
sender that adds one does not break; what we use is checked, and an error names it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from rest_framework import serializers

from monitoring.models import AlertStatus, Outcome
from monitoring.services import AlertResult, Delivery, IncomingAlert

MAX_LABELS = 64
MAX_LABEL_NAME = 200
MAX_LABEL_VALUE = 2000
MAX_ANNOTATION_VALUE = 10_000
MAX_URL = 2000


class LabelsField(serializers.DictField):
    """A flat map of text to text (labels, annotations), bounded in size."""

    def __init__(self, *, value_length: int = MAX_LABEL_VALUE, **kwargs: Any) -> None:
        child = serializers.CharField(allow_blank=True, max_length=value_length, trim_whitespace=False)
        super().__init__(child=child, **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, dict) and len(data) > MAX_LABELS:
            raise serializers.ValidationError(f"At most {MAX_LABELS} entries, got {len(data)}.")
        value = super().to_internal_value(data)
        for name in value:
            if not name or len(name) > MAX_LABEL_NAME or "\x00" in name or _has_surrogate(name):
                raise serializers.ValidationError(
                    f"Label name {name[:40]!r} is not allowed: 1 to {MAX_LABEL_NAME} characters, no NUL."
                )
        return value


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(character) <= 0xDFFF for character in text)


class AlertTimeField(serializers.DateTimeField):
    """RFC 3339; the Go zero time (``0001-01-01T00:00:00Z``, "not ended") reads as empty."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, default=None, **kwargs)

    def to_internal_value(self, value: datetime | str) -> datetime | None:  # type: ignore[override]  # the zero time reads as None
        parsed = super().to_internal_value(value)
        return None if parsed.year == 1 else parsed


class AlertListField(serializers.ListField):
    """The alerts of one delivery; too many is refused before any is read."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_empty=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        limit = settings.ALERTS_MAX_PER_REQUEST
        if isinstance(data, list) and len(data) > limit:
            raise serializers.ValidationError(
                f"At most {limit} alerts per request, got {len(data)}: "
                f"set max_alerts: {limit} in Alertmanager's webhook_configs."
            )
        return super().to_internal_value(data)


class AlertmanagerAlertSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    labels = LabelsField(allow_empty=False)
    annotations = LabelsField(value_length=MAX_ANNOTATION_VALUE, required=False, default=dict)
    # Read into IncomingAlert's names (``source``), as the generic shape's fields are.
    startsAt = AlertTimeField(source="starts_at")
    endsAt = AlertTimeField(source="ends_at")
    generatorURL = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_URL, default="", source="generator_url"
    )
    fingerprint = serializers.CharField(max_length=128)


class GrafanaAlertSerializer(AlertmanagerAlertSerializer):
    """Alertmanager's alert plus Grafana's links and values (``silenceURL``, ``values`` …), unused."""


class _WebhookSerializer(serializers.Serializer[Any]):
    """What Alertmanager and Grafana both send around the alerts."""

    version = serializers.CharField(max_length=10)
    groupKey = serializers.CharField(required=False, allow_blank=True, max_length=MAX_URL, default="")
    truncatedAlerts = serializers.IntegerField(required=False, min_value=0, default=0)
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    receiver = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    groupLabels = LabelsField(required=False)
    commonLabels = LabelsField(required=False)
    commonAnnotations = LabelsField(value_length=MAX_ANNOTATION_VALUE, required=False)
    externalURL = serializers.CharField(required=False, allow_blank=True, max_length=MAX_URL)

    expected_version = ""
    sender = ""

    def validate_version(self, version: str) -> str:
        if version != self.expected_version:
            raise serializers.ValidationError(
                f"{self.sender} webhook version {self.expected_version} is supported; got {version!r}."
            )
        return version

    def delivery(self, source: str) -> Delivery:
        data = self.validated_data
        return Delivery(
            source=source,
            alerts=[incoming_alert(alert) for alert in data["alerts"]],
            group_key=data["groupKey"],
            receiver=data["receiver"],
        )


class AlertmanagerWebhookSerializer(_WebhookSerializer):
    """Alertmanager's ``webhook_configs`` payload, version 4."""

    alerts = AlertListField(child=AlertmanagerAlertSerializer())
    expected_version = "4"
    sender = "Alertmanager"


class GrafanaWebhookSerializer(_WebhookSerializer):
    """Grafana's webhook contact point payload (unified alerting), version 1."""

    alerts = AlertListField(child=GrafanaAlertSerializer())
    orgId = serializers.IntegerField(required=False)
    title = serializers.CharField(required=False, allow_blank=True)
    state = serializers.CharField(required=False, allow_blank=True)
    message = serializers.CharField(required=False, allow_blank=True)
    expected_version = "1"
    sender = "Grafana"


class GenericAlertSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    labels = LabelsField(
        allow_empty=False,
        help_text='What the alert is about, e.g. {"component": "tracking-api", "severity": "critical"}.',
    )
    annotations = LabelsField(value_length=MAX_ANNOTATION_VALUE, required=False, default=dict)
    starts_at = AlertTimeField()
    ends_at = AlertTimeField()
    url = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_URL, default="", source="generator_url"
    )
    fingerprint = serializers.CharField(
        required=False,
        max_length=128,
        help_text="Identifies the alert across deliveries. Default: a hash of its labels.",
    )


class GenericAlertsSerializer(serializers.Serializer[Any]):
    """Alerts from any other system: a list, each with its status and labels."""

    alerts = AlertListField(child=GenericAlertSerializer())

    def delivery(self, source: str) -> Delivery:
        return Delivery(source=source, alerts=[incoming_alert(alert) for alert in self.validated_data["alerts"]])


def incoming_alert(alert: dict[str, Any]) -> IncomingAlert:
    """One validated alert of any of the shapes (their fields read into these names)."""
    return IncomingAlert(
        fingerprint=alert.get("fingerprint") or labels_fingerprint(alert["labels"]),
        status=alert["status"],
        labels=alert["labels"],
        annotations=alert["annotations"],
        starts_at=alert["starts_at"],
        ends_at=alert["ends_at"],
        generator_url=alert["generator_url"],
    )


def labels_fingerprint(labels: dict[str, str]) -> str:
    """Stable for the same labels, in any order (as Alertmanager's own fingerprint is)."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


class AlertResultSerializer(serializers.Serializer[AlertResult]):
    fingerprint = serializers.CharField()
    alertname = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    detail = serializers.CharField(help_text="What was done, or why it was ignored.")
    component = serializers.IntegerField(allow_null=True, help_text="The service component it counts for.")
    incident = serializers.IntegerField(allow_null=True, help_text="The incident it belongs to.")


class AlertsReceivedSerializer(serializers.Serializer[dict[str, Any]]):
    received = serializers.IntegerField()
    applied = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    ignored = serializers.IntegerField()
    alerts = AlertResultSerializer(many=True)
