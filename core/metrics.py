"""Request latency, observed in every web process.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the systemd unit and Compose set it), each
process writes its samples to a file there and a scrape adds them all up; without
it (runserver, tests) the process's own registry is served. The state gauges a
scrape also returns are read in ``ops/metrics.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Histogram

REQUEST_LATENCY = Histogram(
    "parcel_http_request_duration_seconds",
    "Time from request to response, by route (URL pattern, not the path: bounded label values).",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class RequestLatencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        request_latency_observe(request, response, started=started)
        return response


def request_latency_observe(request: HttpRequest, response: HttpResponse, *, started: float) -> None:
    """Count a request that started at ``started`` (``time.perf_counter()``) under its URL pattern."""
    match = getattr(request, "resolver_match", None)
    route = match.route if match is not None else "unmatched"
    REQUEST_LATENCY.labels(request.method or "", route, f"{response.status_code // 100}xx").observe(
        time.perf_counter() - started
    )
