from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from rest_framework import serializers

from complaints.models import Complaint, ComplaintChannel, ComplaintMessage, Reason
from core.api import TextSlugRelatedField
from customers.models import Customer
from orders.models import Order


class ComplaintMessageSerializer(serializers.ModelSerializer[ComplaintMessage]):
    author: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ComplaintMessage
        fields = ["id", "kind", "body", "author", "created_at"]
        read_only_fields = fields


class ComplaintSerializer(serializers.ModelSerializer[Complaint]):
    customer: serializers.SlugRelatedField[Customer] = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True
    )
    order: serializers.SlugRelatedField[Order] = serializers.SlugRelatedField(
        slug_field="tracking_number", read_only=True
    )
    assignee: TextSlugRelatedField[User] = TextSlugRelatedField(slug_field="username", read_only=True)
    messages = ComplaintMessageSerializer(many=True, read_only=True)

    class Meta:
        model = Complaint
        fields = [
            "reference",
            "status",
            "reason",
            "channel",
            "customer",
            "order",
            "incident",
            "assignee",
            "reply_due_at",
            "first_response_at",
            "escalated",
            "created_at",
            "messages",
        ]
        read_only_fields = fields


class ComplaintFileSerializer(serializers.Serializer[Any]):
    tracking_number = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="The parcel; its customer files the complaint."
    )
    customer = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Customer id in the order system, when there is no parcel.",
    )
    reason = serializers.ChoiceField(choices=Reason.choices)
    description = serializers.CharField(max_length=2000)
    channel = serializers.ChoiceField(choices=ComplaintChannel.choices, default=ComplaintChannel.PHONE)


class ComplaintMessageCreateSerializer(serializers.Serializer[Any]):
    body = serializers.CharField(max_length=4000)
    internal = serializers.BooleanField(default=False, help_text="An internal note: not sent, does not stop the clock.")


class ComplaintAssignSerializer(serializers.Serializer[Any]):
    assignee = TextSlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_staff=True, is_active=True)
    )


class ComplaintTransitionSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["resolve", "close"])
