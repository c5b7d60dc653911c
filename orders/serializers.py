from __future__ import annotations

from typing import Any

from rest_framework import serializers

from customers.models import Customer
from customers.serializers import CustomerWriteSerializer
from orders.models import Order, ParcelStatus, TrackingEvent, validate_merchant_code, validate_tracking_number
from orders.services import IngestResult


class TrackingNumberField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=32, validators=[validate_tracking_number], **kwargs)

    def to_internal_value(self, data: str) -> str:
        return super().to_internal_value(data).strip().upper()


class TrackingEventWriteSerializer(serializers.Serializer[Any]):
    occurred_at = serializers.DateTimeField()
    location = serializers.CharField(max_length=80)
    status = serializers.ChoiceField(choices=ParcelStatus.choices)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class MerchantWriteSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=32, validators=[validate_merchant_code])
    name = serializers.CharField(max_length=100)


class OrderIngestRowSerializer(serializers.Serializer[Any]):
    """One row of an ingest batch: the order, its customer, its merchant (optional) and any new tracking events."""

    tracking_number = TrackingNumberField()
    customer = CustomerWriteSerializer()
    merchant = MerchantWriteSerializer(required=False, allow_null=True, default=None)
    origin_city = serializers.CharField(max_length=50)
    destination_city = serializers.CharField(max_length=50)
    hub = serializers.CharField(max_length=50)
    status = serializers.ChoiceField(choices=ParcelStatus.choices)
    promised_delivery = serializers.DateTimeField()
    current_estimate = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ordered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    events = TrackingEventWriteSerializer(many=True, required=False, default=list)


class OrderIngestBatchSerializer(serializers.Serializer[Any]):
    orders = serializers.ListField(child=serializers.JSONField(), allow_empty=False)


class OrderIngestResultSerializer(serializers.Serializer[IngestResult]):
    orders_created = serializers.IntegerField()
    orders_updated = serializers.IntegerField()
    customers = serializers.IntegerField()
    events_added = serializers.IntegerField()


class RowErrorSerializer(serializers.Serializer[Any]):
    row = serializers.IntegerField(help_text="Zero-based position of the row in the batch.")
    tracking_number = serializers.CharField(allow_null=True)
    errors = serializers.DictField()  # type: ignore[assignment]  # a declared field: the metaclass takes it off the class


class OrderIngestRejectionSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]  # a declared field: the metaclass takes it off the class


class TrackingEventSerializer(serializers.ModelSerializer[TrackingEvent]):
    class Meta:
        model = TrackingEvent
        fields = ["occurred_at", "location", "status", "description"]


class OrderSerializer(serializers.ModelSerializer[Order]):
    customer: serializers.SlugRelatedField[Customer] = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True
    )
    events = TrackingEventSerializer(source="tracking_events", many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "tracking_number",
            "customer",
            "origin_city",
            "destination_city",
            "hub",
            "status",
            "promised_delivery",
            "current_estimate",
            "created_at",
            "updated_at",
            "events",
        ]
        read_only_fields = fields
