from __future__ import annotations

import logging

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import RequiredPermissions, report_or_field_errors
from orders.models import Order
from orders.serializers import (
    OrderIngestBatchSerializer,
    OrderIngestRejectionSerializer,
    OrderIngestResultSerializer,
    OrderIngestRowSerializer,
    OrderSerializer,
)
from orders.services import OrderBatchRejected, RowError, order_batch_conflicts, orders_ingest

logger = logging.getLogger(__name__)

_REJECTED = gettext_lazy(
    "The batch was rejected and nothing was applied; fix the rows listed and send the whole batch again."
)


def _rejection(row_errors: list[RowError]) -> Response:
    errors = [
        {"row": error.row, "tracking_number": error.tracking_number, "errors": error.errors}
        for error in sorted(row_errors, key=lambda error: error.row)
    ]
    body = {"detail": _REJECTED, "errors": errors}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class OrderIngestApi(APIView):
    """Bulk upsert of orders, customers and tracking events from the order system."""

    permission_classes = [RequiredPermissions]
    required_permissions = {
        "POST": [
            "orders.add_order",
            "orders.change_order",
            "orders.add_trackingevent",
            "customers.add_customer",
            "customers.change_customer",
        ]
    }

    @extend_schema(
        request=OrderIngestBatchSerializer,
        responses={
            200: OrderIngestResultSerializer,
            400: report_or_field_errors(
                component_name="OrderIngestBadRequest",
                report=OrderIngestRejectionSerializer,
                description="Per-row report, or the request's own field errors; nothing applied.",
            ),
        },
        description=(
            "Idempotent on tracking number. Each element of `orders` has the fields of "
            "OrderIngestRow. A batch with any bad row is rejected whole with a per-row report."
        ),
    )
    def post(self, request: Request) -> Response:
        batch = OrderIngestBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        raw_rows = batch.validated_data["orders"]
        if len(raw_rows) > settings.ORDER_INGEST_MAX_BATCH:
            return Response(
                {
                    "detail": _("A batch holds at most %(limit)d orders; this one has %(count)d.")
                    % {"limit": settings.ORDER_INGEST_MAX_BATCH, "count": len(raw_rows)}
                },
                status=status.HTTP_400_BAD_REQUEST,
            )

        row_errors: list[RowError] = []
        valid_rows = []
        for index, raw in enumerate(raw_rows):
            if not isinstance(raw, dict):
                row_errors.append(
                    RowError(index, None, {"non_field_errors": [_("Expected an object for each order.")]})
                )
                continue
            row = OrderIngestRowSerializer(data=raw)
            if row.is_valid():
                valid_rows.append((index, row.validated_data))
            else:
                row_errors.append(RowError(index, str(raw.get("tracking_number") or "") or None, row.errors))
        row_errors += order_batch_conflicts(rows=valid_rows)
        if row_errors:
            logger.info("order batch rejected", extra={"rows": len(raw_rows), "bad_rows": len(row_errors)})
            return _rejection(row_errors)

        try:
            result = orders_ingest(rows=[row for _, row in valid_rows])
        except OrderBatchRejected as rejected:
            return _rejection(rejected.row_errors)
        logger.info(
            "order batch ingested",
            extra={
                "orders_created": result.orders_created,
                "orders_updated": result.orders_updated,
                "events_added": result.events_added,
            },
        )
        return Response(OrderIngestResultSerializer(result).data)


class OrderListApi(generics.ListAPIView[Order]):
    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": ["orders.view_order"]}
    serializer_class = OrderSerializer
    queryset = (
        Order.objects.select_related("customer").prefetch_related("tracking_events").order_by("-created_at", "-id")
    )


class OrderDetailApi(APIView):
    permission_classes = [RequiredPermissions]
    required_permissions = {"GET": ["orders.view_order"]}

    @extend_schema(responses=OrderSerializer)
    def get(self, request: Request, tracking_number: str) -> Response:
        order = get_object_or_404(
            Order.objects.select_related("customer").prefetch_related("tracking_events"),
            tracking_number=tracking_number.strip().upper(),
        )
        return Response(OrderSerializer(order).data)
