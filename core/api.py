"""Shared pieces of the REST API."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from core.errors import DomainError


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
