from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict

from core.database import database_unreachable
from core.logging import request_id_var

logger = logging.getLogger(__name__)

# A proxy's id is kept when it looks like an id, so one request can be followed
# through nginx, this app and the logs; anything else is replaced.
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_assign(request: HttpRequest) -> str:
    """The request's id — the proxy's when it looks like one, else a new one — on the request and in the logs."""
    # META, not request.headers: building the headers mapping costs more than the rest of this.
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    request_id = incoming if _ACCEPTABLE_REQUEST_ID.match(incoming) else secrets.token_hex(16)
    request.request_id = request_id  # type: ignore[attr-defined]  # our own attribute on Django's request
    # Cleared on request_finished, not here: Django logs 4xx/5xx responses
    # (django.request) after the middleware chain has returned.
    request_id_var.set(request_id)
    return request_id


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_assign(request)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


@receiver(request_finished)
def _clear_request_id(**_: object) -> None:
    request_id_var.set("-")


class TrustedProxyMiddleware:
    """Behind nginx, the socket peer is nginx; the client is in ``X-Real-IP``.

    Trusted only when the request comes from an address in ``TRUSTED_PROXY_IPS``,
    so nobody else can pick the IP that rate limits count against.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _from_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            real_ip = request.headers.get("X-Real-IP", "").strip()
            with contextlib.suppress(ValueError):
                request.META["REMOTE_ADDR"] = str(ipaddress.ip_address(real_ip))
        return self.get_response(request)


def _from_trusted_proxy(peer: str) -> bool:
    """``TRUSTED_PROXY_IPS`` holds addresses or networks (``172.28.0.0/16`` for Compose)."""
    if not settings.TRUSTED_PROXY_IPS:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in settings.TRUSTED_PROXY_IPS)


# Nothing on the site uses these browser features; a script injected into a page
# cannot either.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


class PermissionsPolicyMiddleware:
    """Adds ``Permissions-Policy``, the one security header Django does not set itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class RejectNulCharactersMiddleware:
    """A NUL character in the path, the query string or a form field names nothing we
    have, and PostgreSQL refuses it in any text it is compared with or stores: answer
    400 at the door instead of a server error from whichever view or admin form
    meets it. (JSON bodies are the API's: its fields refuse NUL themselves.)"""

    _FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or _has_nul(request.GET):
            return HttpResponseBadRequest("NUL characters are not allowed in URLs.\n", content_type="text/plain")
        if request.method == "POST" and request.content_type in self._FORMS and _has_nul(request.POST):
            return HttpResponseBadRequest("NUL characters are not allowed in form fields.\n", content_type="text/plain")
        return self.get_response(request)


def _has_nul(data: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())


# Public pages load only what the product serves itself: no inline script or
# style, no CDN, no framing. The admin and the API docs keep Django's defaults.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_CSP_EXEMPT_PREFIXES = ("/admin/", "/api/v1/docs/")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(_CSP_EXEMPT_PREFIXES):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class DatabaseUnavailableMiddleware:
    """A database that cannot be reached gives a 503 that says so, never a 500.

    Pages get the portal's "temporarily unavailable" page, the API a JSON body;
    both ask the client to retry in a minute. Any other error, a wrong query
    included, passes through: a 500, logged with its traceback and counted.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.http import JsonResponse
        from django.shortcuts import render

        if not database_unreachable(exception):
            return None
        logger.error("database unavailable", extra={"path": request.path, "error": str(exception)[:200]})
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": "Temporarily unavailable; retry shortly."}, status=503)
        else:
            response = render(request, "portal/unavailable.html", status=503)
        response["Retry-After"] = "60"
        return response
