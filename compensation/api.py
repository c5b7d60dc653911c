from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compensation.codes import normalize_code
from compensation.models import Coupon
from compensation.services import coupon_redeem
from core.api import RequiredPermissions
from core.users import request_user


class RedeemSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(
        max_length=40, help_text="As the customer typed it; case, spaces and dashes do not matter."
    )
    customer = serializers.CharField(max_length=64, help_text="Customer id in the order system.")
    order_amount = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)

    def validate_code(self, code: str) -> str:
        # Longer than any code once normalised: no coupon has it, and the redemption
        # record (which keeps the normalised code) could not hold it.
        longest = Coupon._meta.get_field("code").max_length
        if longest is not None and len(normalize_code(code)) > longest:
            raise serializers.ValidationError("Not a coupon code: 16 letters and digits.")
        return code


class RedeemAnswerSerializer(serializers.Serializer[Any]):
    redeemed = serializers.BooleanField()
    code = serializers.CharField(required=False)
    value = serializers.CharField(required=False)
    error = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class CouponRedeemApi(APIView):
    """Redeem a coupon at the shop's checkout: exactly once, whatever the concurrency."""

    permission_classes = [RequiredPermissions]
    required_permissions = {"POST": ["compensation.change_coupon"]}

    @extend_schema(
        request=RedeemSerializer,
        responses={
            200: RedeemAnswerSerializer,
            404: RedeemAnswerSerializer,
            409: RedeemAnswerSerializer,
            422: RedeemAnswerSerializer,
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="A retried request with the same key gets the first answer. Keys are per client; "
                "the same key with a different body is a 422.",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = RedeemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        answer = coupon_redeem(
            code=data["code"],
            customer_external_id=data["customer"],
            order_amount=data["order_amount"],
            idempotency_key=request.headers.get("Idempotency-Key", "")[:100],
            client=request_user(request),
        )
        return Response(answer.body, status=answer.status_code)
