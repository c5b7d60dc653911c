"""Where monitoring posts its alerts: Alertmanager, Grafana, and a plain shape for the rest.

The sender authenticates with a bearer token (``Authorization: Bearer <key>``, how
Alertmanager's ``http_config.authorization`` and Grafana's contact point send one) of
an account in the monitoring role, which may do this and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import RequestErrorSerializer, RequiredPermissions
from core.authentication import ApiTokenAuthentication, BearerApiTokenAuthentication
from core.users import request_user
from monitoring.models import RECEIVE_PERMISSION, AlertSource, Outcome
from monitoring.serializers import (
    AlertmanagerWebhookSerializer,
    AlertsReceivedSerializer,
    GenericAlertsSerializer,
    GrafanaWebhookSerializer,
)
from monitoring.services import alerts_receive


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class BoundedJSONParser(JSONParser):
    """JSON, refused unread above ``ALERTS_MAX_BODY_BYTES`` (DRF itself sets no limit)."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        request = (parser_context or {}).get("request")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            length = 0
        limit = settings.ALERTS_MAX_BODY_BYTES
        if length > limit:
            raise PayloadTooLarge(f"The body is {length} bytes; at most {limit} are read.")
        return super().parse(stream, media_type, parser_context)


class DetailSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()


RESPONSES = {
    200: OpenApiResponse(
        AlertsReceivedSerializer, description="Every alert was matched to a rule (applied or unchanged)."
    ),
    202: OpenApiResponse(
        AlertsReceivedSerializer,
        description="Recorded; some alerts matched no rule (e.g. an unknown component) and were ignored: "
        "each says why in `detail`.",
    ),
    400: OpenApiResponse(
        RequestErrorSerializer, description="The payload is not what the sender sends; the error names the field."
    ),
    413: OpenApiResponse(DetailSerializer, description="The body is larger than ALERTS_MAX_BODY_BYTES."),
}


class _AlertsApi(APIView):
    authentication_classes = [BearerApiTokenAuthentication, ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [RequiredPermissions]
    required_permissions = {"POST": [RECEIVE_PERMISSION]}
    parser_classes = [BoundedJSONParser]
    source = ""
    payload: type[AlertmanagerWebhookSerializer | GrafanaWebhookSerializer | GenericAlertsSerializer]

    def post(self, request: Request) -> Response:
        payload = self.payload(data=request.data)
        payload.is_valid(raise_exception=True)
        results = alerts_receive(delivery=payload.delivery(self.source), actor=request_user(request))
        counts = {outcome: sum(result.outcome == outcome for result in results) for outcome in Outcome.values}
        body = AlertsReceivedSerializer({"received": len(results), **counts, "alerts": results}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if counts[Outcome.IGNORED] else status.HTTP_200_OK)


@extend_schema(request=AlertmanagerWebhookSerializer, responses=RESPONSES)
class AlertmanagerAlertsApi(_AlertsApi):
    """Prometheus Alertmanager's webhook (``webhook_configs``, payload version 4), as Alertmanager sends it."""

    source = AlertSource.ALERTMANAGER
    payload = AlertmanagerWebhookSerializer


@extend_schema(request=GrafanaWebhookSerializer, responses=RESPONSES)
class GrafanaAlertsApi(_AlertsApi):
    """Grafana's webhook contact point (unified alerting, payload version 1), as Grafana sends it."""

    source = AlertSource.GRAFANA
    payload = GrafanaWebhookSerializer


@extend_schema(request=GenericAlertsSerializer, responses=RESPONSES)
class GenericAlertsApi(_AlertsApi):
    """Alerts from any other system: ``{"alerts": [{"status": "firing", "labels": {…}}]}``.

    ``resolved`` with the same labels (or ``fingerprint``) ends an alert.
    """

    source = AlertSource.GENERIC
    payload = GenericAlertsSerializer
