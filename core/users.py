"""Who made a request, for the services that record who acted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

if TYPE_CHECKING:
    from rest_framework.request import Request


def request_user(request: HttpRequest | Request) -> User:
    """The signed-in user behind a request that its view already refused to anonymous
    callers (the admin's sign-in, the API's permission classes): an anonymous user is
    refused here too rather than passed on to a service as an actor."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
