"""Shared pieces of the REST API."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


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
