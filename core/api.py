"""Shared pieces of the REST API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Model
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.utils import Direction, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from core.errors import DomainError

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema

_ModelT = TypeVar("_ModelT", bound=Model)


class RequiredPermissions(BasePermission):
    """Grants a request when the user holds every permission the view lists for its method.

    Views declare ``required_permissions = {"GET": [...], "POST": [...]}``; a method
    that is not listed is refused, so a new endpoint is closed until someone opens it.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        required = getattr(view, "required_permissions", {})
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        if method not in required:
            return False
        return user.has_perms(required[method])


def api_exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: a refused business rule is a 400 (or 409) with its message."""
    if isinstance(error, DomainError):
        return Response({"detail": str(error)}, status=error.status_code)
    return exception_handler(error, context)


class RequestErrorSerializer(serializers.Serializer[Any]):
    """Documents DRF's own 400 bodies: ``{"detail": "JSON parse error …"}`` for an
    unreadable body, or field errors such as ``{"orders": ["This field is required."]}``."""


class RequestErrorSchema(OpenApiSerializerExtension):
    target_class = RequestErrorSerializer

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        return {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"detail": {"type": "string"}},
                    "required": ["detail"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "description": "Each invalid field with its messages, or a nested object's or list's errors.",
                    "additionalProperties": {"oneOf": [{"type": "array", "items": {}}, {"type": "object"}]},
                },
            ]
        }


def report_or_field_errors(
    *, component_name: str, report: type[serializers.Serializer[Any]], description: str
) -> OpenApiResponse:
    """A 400 that is either the endpoint's own report or DRF's request error (the
    body unreadable or its fields invalid), so both are in the schema clients read."""
    return OpenApiResponse(
        PolymorphicProxySerializer(
            component_name=component_name, serializers=[report, RequestErrorSerializer], resource_type_field_name=None
        ),
        description=description,
    )


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The bearer form of the API token, under its own name (the ``Token`` form is ``tokenAuth``)."""

    target_class = "core.authentication.BearerApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token as `Authorization: Bearer <key>` (Alertmanager, Grafana).",
        }


class TextSlugRelatedField(serializers.SlugRelatedField[_ModelT]):
    """A slug lookup that answers "does not exist" for text PostgreSQL cannot hold
    (a NUL character), instead of failing the query with a server error."""

    def to_internal_value(self, data: object) -> _ModelT:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\x00"))
        return super().to_internal_value(data)
