"""The published status renderings answered before the session, CSRF, user and message machinery.

A crowd reloading the status page during an outage is anonymous and asks for a
rendering that is already made (``portal/published.py``). For those requests the
session, CSRF, authentication and message middleware do nothing but cost time,
and so does resolving the URL again. ``PublishedRenderingMiddleware`` sits first
in ``MIDDLEWARE`` and sends such a request through a second, shorter chain: the
same middleware classes, in the same order, minus ``SKIPPED`` below, around the
same view, already resolved. Everything that sets a header (request id, metrics,
security headers, language, Content-Length, CSP, frame options) is the real code,
so the bytes are the same as on the full path (``tests/test_published_fast_path.py``
proves it). Anything else — another path or method, a session cookie (signed-in
staff), no rendering to serve — takes the full path.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, resolve, reverse
from django.utils.module_loading import import_string

from portal import published

# Middleware that has nothing to do for an anonymous GET of a published rendering:
# no session cookie to read, no form, no user, no message, no static file, no SQL
# that could fail, and no client address anything here depends on.
SKIPPED = frozenset(
    {
        "portal.middleware.PublishedRenderingMiddleware",
        "core.middleware.TrustedProxyMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "core.middleware.DatabaseUnavailableMiddleware",
    }
)
SAFE_METHODS = frozenset({"GET", "HEAD"})


def published_paths() -> list[str]:
    """The URLs of the status page, each Statuspage document and the feed."""
    from portal.urls import STATUS_DOCUMENT_NAMES

    return [
        reverse("home"),
        reverse("status-feed"),
        *(reverse("status-api", kwargs={"name": name}) for name in STATUS_DOCUMENT_NAMES),
    ]


class PublishedRenderingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.short_chain = self._build_short_chain()
        self._matches: dict[str, ResolverMatch] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method not in SAFE_METHODS
            or request.path_info not in self.matches
            or settings.SESSION_COOKIE_NAME in request.COOKIES
        ):
            return self.get_response(request)
        try:
            published.load()  # into this process's memory, where the view will read it
        except Exception:  # noqa: BLE001 - e.g. never rendered and no database: the full path answers it as always
            return self.get_response(request)
        request.resolver_match = self.matches[request.path_info]
        return self.short_chain(request)

    @property
    def matches(self) -> dict[str, ResolverMatch]:
        # Resolved on first use: the URLconf cannot be imported while the handler loads.
        if self._matches is None:
            self._matches = {path: resolve(path) for path in published_paths()}
        return self._matches

    def _build_short_chain(self) -> Callable[[HttpRequest], HttpResponse]:
        handler = convert_exception_to_response(self._view)
        for path in reversed(settings.MIDDLEWARE):
            if path not in SKIPPED:
                handler = convert_exception_to_response(import_string(path)(handler))
        return handler

    def _view(self, request: HttpRequest) -> HttpResponse:
        match = self.matches[request.path_info]
        return match.func(request, *match.args, **match.kwargs)
