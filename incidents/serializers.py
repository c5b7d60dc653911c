from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from rest_framework import serializers

from components.models import ComponentGroup, ComponentStatus, Maintenance, ServiceComponent
from core.api import TextSlugRelatedField
from incidents.linking import MAX_TRACKING_LIST, ListReport
from incidents.models import (
    MAX_TARGET,
    MIN_TARGET,
    AffectedOrder,
    AffectedReason,
    Incident,
    IncidentCategory,
    IncidentUpdate,
    LinkJob,
    Severity,
    Visibility,
)
from incidents.selectors import LinkPreview
from incidents.services import TRANSITIONS

IMPACTS = [choice for choice in ComponentStatus.choices if choice[0] != ComponentStatus.OPERATIONAL]


class ComponentImpactSerializer(serializers.Serializer[Any]):
    component = serializers.PrimaryKeyRelatedField(queryset=ServiceComponent.objects.all())
    impact = serializers.ChoiceField(choices=IMPACTS)


class IncidentUpdateSerializer(serializers.ModelSerializer[IncidentUpdate]):
    author: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IncidentUpdate
        fields = [
            "id",
            "kind",
            "visibility",
            "status",
            "from_status",
            "body_zh",
            "body_en",
            "body_zh_html",
            "body_en_html",
            "notify_customers",
            "author",
            "created_at",
        ]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    reference = serializers.CharField(read_only=True)
    category: serializers.SlugRelatedField[IncidentCategory] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    commander: TextSlugRelatedField[User] = TextSlugRelatedField(slug_field="username", read_only=True)
    components = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "reference",
            "category",
            "severity",
            "status",
            "title_zh",
            "title_en",
            "summary_zh",
            "summary_en",
            "description",
            "commander",
            "components",
            "estimated_recovery_at",
            "published_at",
            "impact_started_at",
            "reported_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
            "closed_at",
            "response_due_at",
            "recovery_due_at",
            "response_met",
            "recovery_met",
            "root_cause",
            "measures_taken",
            "improvements",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_components(self, incident: Incident) -> list[dict[str, Any]]:
        return [
            {"component": impact.component_id, "impact": impact.impact} for impact in incident.component_impacts.all()
        ]


class IncidentDeclareSerializer(serializers.Serializer[Any]):
    category = TextSlugRelatedField(slug_field="code", queryset=IncidentCategory.objects.all())
    severity = serializers.ChoiceField(choices=Severity.choices)
    title_zh = serializers.CharField(max_length=200)
    title_en = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    summary_zh = serializers.CharField(required=False, allow_blank=True, default="")
    summary_en = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    commander = TextSlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_staff=True),
        required=False,
        allow_null=True,
        default=None,
    )
    impact_started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    estimated_recovery_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    response_target = serializers.DurationField(
        required=False, allow_null=True, default=None, min_value=MIN_TARGET, max_value=MAX_TARGET
    )
    recovery_target = serializers.DurationField(
        required=False, allow_null=True, default=None, min_value=MIN_TARGET, max_value=MAX_TARGET
    )
    components = ComponentImpactSerializer(many=True, required=False, default=list)
    notify_customers = serializers.BooleanField(default=True)
    publish = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="False keeps the incident internal. Default: public for staff who command incidents, "
        "internal for client systems.",
    )


class IncidentUpdateCreateSerializer(serializers.Serializer[Any]):
    body_zh = serializers.CharField()
    body_en = serializers.CharField(required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLIC)
    notify_customers = serializers.BooleanField(required=False, allow_null=True, default=None)
    sms = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Override: SMS goes by default only for new estimates and resolution.",
    )
    email = serializers.BooleanField(required=False, allow_null=True, default=None)
    estimated_recovery_at = serializers.DateTimeField(required=False, allow_null=True)


class TransitionSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=TRANSITIONS)
    body_zh = serializers.CharField(required=False, allow_blank=True, default="")
    body_en = serializers.CharField(required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False, allow_null=True, default=None)
    notify_customers = serializers.BooleanField(required=False, allow_null=True, default=None)
    sms = serializers.BooleanField(required=False, allow_null=True, default=None)
    email = serializers.BooleanField(required=False, allow_null=True, default=None)


class EstimateFields(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=AffectedReason.choices, default=AffectedReason.DELAYED)
    delay_hours = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=-720,
        max_value=2160,
        help_text="New estimate = each parcel's promise + this many hours.",
    )
    new_estimate = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="One new estimate for every parcel."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("delay_hours") is not None and attrs.get("new_estimate") is not None:
            raise serializers.ValidationError("Give delay_hours or new_estimate, not both.")
        return attrs


class LinkCriteriaSerializer(EstimateFields):
    hubs = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)
    origin_cities = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)
    destination_cities = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)
    statuses = serializers.ListField(child=serializers.CharField(max_length=20), required=False, default=list)
    created_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    created_to = serializers.DateTimeField(required=False, allow_null=True, default=None)
    promised_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    promised_to = serializers.DateTimeField(required=False, allow_null=True, default=None)
    preview = serializers.BooleanField(default=False, help_text="Only count; link nothing.")


class LinkTrackingNumbersSerializer(EstimateFields):
    tracking_numbers = serializers.ListField(
        child=serializers.CharField(max_length=64), allow_empty=False, max_length=MAX_TRACKING_LIST
    )


class LinkPreviewSerializer(serializers.Serializer[LinkPreview]):
    matching = serializers.IntegerField()
    already_linked = serializers.IntegerField()
    to_link = serializers.IntegerField()


class LinkResultSerializer(serializers.Serializer[Any]):
    linked = serializers.IntegerField()


class LinkJobSerializer(serializers.ModelSerializer[LinkJob]):
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = LinkJob
        fields = [
            "id",
            "incident",
            "state",
            "total_orders",
            "linked",
            "progress_percent",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ListReportSerializer(serializers.Serializer[ListReport]):
    ok = serializers.BooleanField()
    total = serializers.IntegerField()
    linked = serializers.IntegerField()
    to_link = serializers.IntegerField(source="to_link_count")
    malformed = serializers.ListField(child=serializers.ListField())
    unknown = serializers.ListField(child=serializers.ListField())
    duplicates = serializers.ListField(child=serializers.ListField())
    already_linked = serializers.ListField(child=serializers.ListField())


class AffectedOrderSerializer(serializers.ModelSerializer[AffectedOrder]):
    tracking_number = serializers.CharField(source="order.tracking_number", read_only=True)
    linked_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AffectedOrder
        fields = ["tracking_number", "reason", "original_promise", "new_estimate", "linked_at", "linked_by"]
        read_only_fields = fields


class ServiceComponentSerializer(serializers.ModelSerializer[ServiceComponent]):
    group: serializers.StringRelatedField[ComponentGroup] = serializers.StringRelatedField()

    class Meta:
        model = ServiceComponent
        fields = [
            "id",
            "group",
            "name_zh",
            "name_en",
            "description_zh",
            "description_en",
            "is_public",
            "position",
            "status",
            "status_changed_at",
        ]
        read_only_fields = fields


class MaintenanceSerializer(serializers.ModelSerializer[Maintenance]):
    class Meta:
        model = Maintenance
        fields = [
            "id",
            "title_zh",
            "title_en",
            "description_zh",
            "description_en",
            "starts_at",
            "ends_at",
            "components",
            "state",
            "started_at",
            "completed_at",
        ]
        read_only_fields = fields
