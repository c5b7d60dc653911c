from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compensation.codes import new_code, normalize_code
from compensation.services import coupon_redeem
from core.api import RequiredPermissions


class RedeemSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=40, help_text="As the customer typed it; case, spaces and dashes do not matter."
    )
    customer = serializers.CharField(max_length=64, help_text="Customer id in the order system.")
    order_amount = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)

    def validate_code(self, value: str) -> str:
        # More letters and digits than any code has: refused here, before the idempotency
        # record, whose column holds a real code's length (it was a 500).
        if len(normalize_code(value)) > len(new_code()):
            raise serializers.ValidationError("Not a coupon code.")
        return value


class RedeemAnswerSerializer(serializers.Serializer):
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
            client=request.user,
        )
        return Response(answer.body, status=answer.status_code)
