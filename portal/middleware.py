"""The published status renderings answered before the rest of the middleware.

A crowd reloading the status page during an outage is anonymous and asks for a
rendering that is already made (``portal/published.py``), yet each request would
walk sixteen middleware and the URL resolver to be told the same bytes. So
``PublishedRenderingMiddleware`` sits first in ``MIDDLEWARE`` and, for an anonymous
GET or HEAD of the status page, a Statuspage document or the feed:

1. lets the first request of each kind take the full path, and keeps what it
   answered — status, every header in order, body;
2. answers later requests of the same kind with those bytes, a fresh request id,
   and the same latency metric the full path records.

"The same kind" is everything the full path's answer depends on: the URL, the
method, the host as sent, HTTPS or not, the language (cookie or ``Accept-Language``,
chosen by Django's own function), and the raw ``Accept-Encoding``, ``If-None-Match``
and ``If-Modified-Since``. What is kept is forgotten as soon as a new rendering is
adopted. Only 200 and 304 answers without cookies are kept; anything else (a
redirect to HTTPS, an unknown host, a session cookie — signed-in staff) takes the
full path every time. So the bytes are the full path's by construction, and
``tests/test_published_fast_path.py`` checks it header by header.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import ResponseHeaders
from django.urls import ResolverMatch, resolve, reverse
from django.utils.translation import get_language_from_request

from core.metrics import request_latency_observe
from core.middleware import request_id_assign
from portal import published

SAFE_METHODS = frozenset({"GET", "HEAD"})
KEPT_STATUSES = frozenset({200, 304})
# Kinds of request kept per rendering: 10 URLs × 2 languages × 2 methods × a few
# encodings and validators is far below it; past it (odd headers) we start again.
MAX_KEPT = 512


def published_paths() -> list[str]:
    """The URLs of the status page, each Statuspage document and the feed."""
    from portal.urls import STATUS_DOCUMENT_NAMES

    return [
        reverse("home"),
        reverse("status-feed"),
        *(reverse("status-api", kwargs={"name": name}) for name in STATUS_DOCUMENT_NAMES),
    ]


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: ResponseHeaders  # in the full path's order, X-Request-ID among them; checked once, when kept
    body: bytes

    def replay(self, request_id: str) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status)
        # A copy of the kept headers rather than setting each again, which checks and encodes every
        # name and value (a fifth of a replay). The id is checked by request_id_assign and keeps its
        # place: updating a key does not move it in a dict. A 304 keeps having no Content-Type.
        headers = ResponseHeaders({})
        headers._store = {**self.headers._store, "x-request-id": ("X-Request-ID", request_id)}
        response.headers = headers
        return response


class PublishedRenderingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._matches: dict[str, ResolverMatch] | None = None
        # The renderings the answers were given from, and the answers, swapped together.
        self._kept: tuple[object, dict[tuple[object, ...], _Answer]] = (None, {})

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = self.matches.get(request.path_info)
        if match is None or request.method not in SAFE_METHODS or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return self.get_response(request)
        started = time.perf_counter()
        try:
            renderings = published.current()
        except Exception:  # noqa: BLE001 - e.g. never rendered and no database: the full path says so
            return self.get_response(request)
        key = self._kind(request)
        kept_from, answers = self._kept
        if renderings is not kept_from:
            answers = {}
            self._kept = (renderings, answers)
        answer = answers.get(key)
        if answer is None:
            response = self.get_response(request)
            # Into this rendering's dict: if another thread adopted a newer one meanwhile, it is dropped with it.
            _keep(answers, key, response)
            return response
        request.resolver_match = match
        response = answer.replay(request_id_assign(request))
        request_latency_observe(request, response, started=started)
        return response

    @property
    def matches(self) -> dict[str, ResolverMatch]:
        # Resolved on first use: the URLconf cannot be imported while the handler loads.
        if self._matches is None:
            self._matches = {path: resolve(path) for path in published_paths()}
        return self._matches

    @staticmethod
    def _kind(request: HttpRequest) -> tuple[object, ...]:
        meta = request.META
        return (
            request.path_info,
            request.method,
            # The host as sent: one the full path refused (400) was never kept, so it goes there again.
            meta.get("HTTP_HOST"),
            meta.get("HTTP_X_FORWARDED_HOST"),
            request.is_secure(),
            get_language_from_request(request),
            meta.get("HTTP_ACCEPT_ENCODING"),
            meta.get("HTTP_IF_NONE_MATCH"),
            meta.get("HTTP_IF_MODIFIED_SINCE"),
        )


def _keep(answers: dict[tuple[object, ...], _Answer], key: tuple[object, ...], response: HttpResponse) -> None:
    if response.status_code not in KEPT_STATUSES or response.cookies or response.streaming:
        return
    if len(answers) >= MAX_KEPT:
        answers.clear()
    answers[key] = _Answer(response.status_code, ResponseHeaders(dict(response.items())), response.content)
