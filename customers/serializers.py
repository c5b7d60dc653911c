from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from customers.models import Customer, Language
from customers.phones import normalize_phone


class PhoneField(serializers.CharField):
    """Accepts national or international input, stores E.164."""

    def to_internal_value(self, data: str) -> str:
        raw = super().to_internal_value(data)
        try:
            return normalize_phone(raw)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class CustomerWriteSerializer(serializers.Serializer[Any]):
    external_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100)
    phone = PhoneField(max_length=32)
    # No default in the schema: "" is not an email address, and a valid OpenAPI document says so.
    email = serializers.EmailField(required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=Language.choices, default=Language.CHINESE)


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = [
            "external_id",
            "name",
            "phone",
            "email",
            "language",
            "sms_consent",
            "email_consent",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
