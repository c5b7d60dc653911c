from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from components.models import Maintenance, ServiceComponent
from core.api import RequiredPermissions, report_or_field_errors
from core.users import request_user
from incidents import linking
from incidents.criteria import Estimate, LinkCriteria
from incidents.models import AffectedOrder, Incident, IncidentUpdate, LinkJob
from incidents.selectors import incident_link_preview
from incidents.serializers import (
    AffectedOrderSerializer,
    IncidentDeclareSerializer,
    IncidentSerializer,
    IncidentUpdateCreateSerializer,
    IncidentUpdateSerializer,
    LinkCriteriaSerializer,
    LinkJobSerializer,
    LinkPreviewSerializer,
    LinkResultSerializer,
    LinkTrackingNumbersSerializer,
    ListReportSerializer,
    MaintenanceSerializer,
    ServiceComponentSerializer,
    TransitionSerializer,
)
from incidents.services import incident_declare, incident_post_update, incident_transition

VIEW = ["incidents.view_incident"]
MANAGE = ["incidents.view_incident", "incidents.manage_incident"]
LINK = ["incidents.view_incident", "incidents.link_orders"]
# Whoever may declare may ask to move an incident; the transition itself lets a client
# system move only the internal incident it opened (IncidentTransitionApi → the model).
TRANSITION = ["incidents.view_incident", "incidents.add_incident"]


def _incident(incident_id: int) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related("category", "commander").prefetch_related("component_impacts"), pk=incident_id
    )


def _estimate(data: dict[str, Any]) -> Estimate:
    delay = data.get("delay_hours")
    return Estimate(delay=timedelta(hours=delay) if delay is not None else None, fixed=data.get("new_estimate"))


class IncidentListApi(generics.ListAPIView[Incident]):
    """List incidents (newest first) or declare one.

    ``publish`` defaults to true for staff who command incidents; a client system's
    incident is always internal until a person publishes it (``publish: true`` is a 403).
    """

    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": VIEW, "POST": ["incidents.add_incident"]}
    serializer_class = IncidentSerializer
    queryset = (
        Incident.objects.select_related("category", "commander")
        .prefetch_related("component_impacts")
        .order_by("-reported_at", "-id")
    )

    def get_queryset(self) -> QuerySet[Incident]:
        incidents = super().get_queryset()
        wanted = self.request.query_params.get("status")
        return incidents.filter(status=wanted) if wanted else incidents

    @extend_schema(request=IncidentDeclareSerializer, responses={201: IncidentSerializer})
    def post(self, request: Request) -> Response:
        serializer = IncidentDeclareSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        impacts = {row["component"].pk: row["impact"] for row in data.pop("components")}
        incident = incident_declare(actor=request_user(request), component_impacts=impacts, **data)
        return Response(IncidentSerializer(_incident(incident.pk)).data, status=status.HTTP_201_CREATED)


class IncidentDetailApi(APIView):
    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": VIEW}

    @extend_schema(responses=IncidentSerializer)
    def get(self, request: Request, incident_id: int) -> Response:
        return Response(IncidentSerializer(_incident(incident_id)).data)


class IncidentUpdatesApi(generics.ListAPIView[IncidentUpdate]):
    """The whole timeline (staff see internal entries too), or post an update."""

    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": VIEW, "POST": MANAGE}
    serializer_class = IncidentUpdateSerializer

    def get_queryset(self) -> QuerySet[IncidentUpdate]:
        return _incident(self.kwargs["incident_id"]).updates.select_related("author").order_by("-created_at", "-id")

    @extend_schema(request=IncidentUpdateCreateSerializer, responses={201: IncidentUpdateSerializer})
    def post(self, request: Request, incident_id: int) -> Response:
        serializer = IncidentUpdateCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        update = incident_post_update(
            incident_id=_incident(incident_id).pk, actor=request_user(request), **serializer.validated_data
        )
        return Response(IncidentUpdateSerializer(update).data, status=status.HTTP_201_CREATED)


class IncidentTransitionApi(APIView):
    permission_classes = [RequiredPermissions]
    required_permissions = {"POST": TRANSITION}

    @extend_schema(
        request=TransitionSerializer,
        responses={
            200: IncidentSerializer,
            409: OpenApiResponse(
                description="The incident's state does not allow it (e.g. another person moved it first)."
            ),
        },
    )
    def post(self, request: Request, incident_id: int) -> Response:
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = incident_transition(
            incident_id=_incident(incident_id).pk, actor=request_user(request), **serializer.validated_data
        )
        return Response(IncidentSerializer(_incident(incident.pk)).data)


class AffectedOrderListApi(generics.ListAPIView[AffectedOrder]):
    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": ["incidents.view_incident", "incidents.view_affectedorder"]}
    serializer_class = AffectedOrderSerializer

    def get_queryset(self) -> QuerySet[AffectedOrder]:
        incident = _incident(self.kwargs["incident_id"])
        return AffectedOrder.objects.filter(incident=incident).select_related("order", "linked_by").order_by("id")


class LinkByCriteriaApi(APIView):
    """Preview or link the orders matching criteria. Large sets run as a job (202).

    A client system's link matching more than INTEGRATION_LINK_MAX_PERCENT of all parcels is refused (403).
    """

    permission_classes = [RequiredPermissions]
    required_permissions = {"POST": LINK}

    @extend_schema(request=LinkCriteriaSerializer, responses={200: LinkResultSerializer, 202: LinkJobSerializer})
    def post(self, request: Request, incident_id: int) -> Response:
        serializer = LinkCriteriaSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        incident = _incident(incident_id)
        criteria = LinkCriteria(**{key: data[key] for key in LinkCriteria.__dataclass_fields__})
        if data["preview"]:
            return Response(LinkPreviewSerializer(incident_link_preview(incident=incident, criteria=criteria)).data)
        done = linking.incident_link_by_criteria(
            incident=incident,
            criteria=criteria,
            reason=data["reason"],
            estimate=_estimate(data),
            actor=request_user(request),
        )
        if done.job is not None:
            return Response(LinkJobSerializer(done.job).data, status=status.HTTP_202_ACCEPTED)
        return Response({"linked": done.linked})


class LinkByTrackingNumbersApi(APIView):
    """Link a list of tracking numbers; a list with unknown or malformed numbers links nothing (400 with the report)."""

    permission_classes = [RequiredPermissions]
    required_permissions = {"POST": LINK}

    @extend_schema(
        request=LinkTrackingNumbersSerializer,
        responses={
            200: ListReportSerializer,
            400: report_or_field_errors(
                component_name="LinkListBadRequest",
                report=ListReportSerializer,
                description="The list's report (nothing linked), or the request's own field errors.",
            ),
        },
    )
    def post(self, request: Request, incident_id: int) -> Response:
        serializer = LinkTrackingNumbersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = linking.incident_link_tracking_numbers(
            incident=_incident(incident_id),
            tracking_numbers=[number.strip().upper() for number in data["tracking_numbers"]],
            reason=data["reason"],
            estimate=_estimate(data),
            actor=request_user(request),
        )
        return Response(
            ListReportSerializer(report).data, status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST
        )


class LinkJobApi(generics.RetrieveAPIView[LinkJob]):
    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": VIEW}
    serializer_class = LinkJobSerializer
    queryset = LinkJob.objects.all()
    lookup_url_kwarg = "job_id"


class ComponentListApi(generics.ListAPIView[ServiceComponent]):
    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": ["components.view_servicecomponent"]}
    serializer_class = ServiceComponentSerializer
    queryset = ServiceComponent.objects.select_related("group").order_by("group__position", "position", "id")


class MaintenanceListApi(generics.ListAPIView[Maintenance]):
    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": ["components.view_maintenance"]}
    serializer_class = MaintenanceSerializer
    queryset = Maintenance.objects.prefetch_related("components").order_by("-starts_at")
