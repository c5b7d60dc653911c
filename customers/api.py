from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import RequiredPermissions
from customers.models import Customer
from customers.serializers import CustomerSerializer, CustomerWriteSerializer
from customers.services import customer_upsert


class CustomerDetailApi(APIView):
    """Read a customer, or upsert one by the order system's customer id."""

    permission_classes = [RequiredPermissions]
    required_permissions = {
        "GET": ["customers.view_customer"],
        "PUT": ["customers.add_customer", "customers.change_customer"],
    }

    @extend_schema(responses=CustomerSerializer)
    def get(self, request: Request, external_id: str) -> Response:
        customer = get_object_or_404(Customer, external_id=external_id)
        return Response(CustomerSerializer(customer).data)

    @extend_schema(request=CustomerWriteSerializer, responses={200: CustomerSerializer, 201: CustomerSerializer})
    def put(self, request: Request, external_id: str) -> Response:
        if not isinstance(request.data, dict):
            return Response({"detail": _("Expected a JSON object.")}, status=status.HTTP_400_BAD_REQUEST)
        serializer = CustomerWriteSerializer(data={**request.data, "external_id": external_id})
        serializer.is_valid(raise_exception=True)
        customer, created = customer_upsert(**serializer.validated_data)
        return Response(
            CustomerSerializer(customer).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
