from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints.models import Complaint
from complaints.serializers import (
    ComplaintAssignSerializer,
    ComplaintFileSerializer,
    ComplaintMessageCreateSerializer,
    ComplaintMessageSerializer,
    ComplaintSerializer,
    ComplaintTransitionSerializer,
)
from complaints.services import (
    ComplaintError,
    complaint_assign,
    complaint_close,
    complaint_file,
    complaint_reply,
    complaint_resolve,
)
from core.api import RequiredPermissions
from core.users import request_user
from customers.models import Customer
from orders.models import Order

VIEW = ["complaints.view_complaint"]
WORK = ["complaints.view_complaint", "complaints.change_complaint"]


def _complaint(reference: str) -> Complaint:
    return get_object_or_404(
        Complaint.objects.prefetch_related("messages__author").select_related("customer", "order", "assignee"),
        reference=reference,
    )


class ComplaintListApi(generics.ListAPIView[Complaint]):
    """The queue (next deadline first), or file a complaint taken on the phone or by another system."""

    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": VIEW, "POST": ["complaints.add_complaint"]}
    serializer_class = ComplaintSerializer

    def get_queryset(self) -> QuerySet[Complaint]:
        from django.db.models import F

        complaints = Complaint.objects.select_related("customer", "order", "assignee").prefetch_related(
            "messages__author"
        )
        wanted = self.request.query_params.get("status")
        if wanted:
            complaints = complaints.filter(status=wanted)
        return complaints.order_by(F("reply_due_at").asc(nulls_last=True), "id")

    @extend_schema(request=ComplaintFileSerializer, responses={201: ComplaintSerializer})
    def post(self, request: Request) -> Response:
        serializer = ComplaintFileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = None
        if data["tracking_number"]:
            order = get_object_or_404(
                Order.objects.select_related("customer"), tracking_number=data["tracking_number"].strip().upper()
            )
            customer = order.customer
        elif data["customer"]:
            customer = get_object_or_404(Customer, external_id=data["customer"])
        else:
            raise ComplaintError(_("Give the parcel's tracking number or the customer."))
        complaint = complaint_file(
            customer=customer,
            order=order,
            reason=data["reason"],
            description=data["description"],
            channel=data["channel"],
            actor=request_user(request),
        )
        return Response(ComplaintSerializer(_complaint(complaint.reference)).data, status=status.HTTP_201_CREATED)


class ComplaintDetailApi(APIView):
    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": VIEW}

    @extend_schema(responses=ComplaintSerializer)
    def get(self, request: Request, reference: str) -> Response:
        return Response(ComplaintSerializer(_complaint(reference)).data)


class ComplaintMessageApi(APIView):
    """A public reply (sent to the customer, stops the clock) or an internal note."""

    permission_classes = [RequiredPermissions]
    required_permissions = {"POST": WORK}

    @extend_schema(request=ComplaintMessageCreateSerializer, responses={201: ComplaintMessageSerializer})
    def post(self, request: Request, reference: str) -> Response:
        serializer = ComplaintMessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = complaint_reply(
            complaint_id=_complaint(reference).pk, actor=request_user(request), **serializer.validated_data
        )
        return Response(ComplaintMessageSerializer(message).data, status=status.HTTP_201_CREATED)


class ComplaintAssignApi(APIView):
    permission_classes = [RequiredPermissions]
    required_permissions = {"POST": WORK}

    @extend_schema(request=ComplaintAssignSerializer, responses=ComplaintSerializer)
    def post(self, request: Request, reference: str) -> Response:
        serializer = ComplaintAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        complaint = complaint_assign(
            complaint_id=_complaint(reference).pk,
            assignee=serializer.validated_data["assignee"],
            actor=request_user(request),
        )
        return Response(ComplaintSerializer(_complaint(complaint.reference)).data)


class ComplaintTransitionApi(APIView):
    permission_classes = [RequiredPermissions]
    required_permissions = {"POST": WORK}

    @extend_schema(request=ComplaintTransitionSerializer, responses=ComplaintSerializer)
    def post(self, request: Request, reference: str) -> Response:
        serializer = ComplaintTransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        move = complaint_resolve if serializer.validated_data["action"] == "resolve" else complaint_close
        complaint = move(complaint_id=_complaint(reference).pk, actor=request_user(request))
        return Response(ComplaintSerializer(_complaint(complaint.reference)).data)
