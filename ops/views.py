from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from ops.health import health_report
from ops.metrics import metrics_text


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health_report()
    healthy = all(check.ok for check in checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "unhealthy",
            "checks": {name: {"ok": check.ok, "detail": check.detail} for name, check in checks.items()},
        },
        status=200 if healthy else 503,
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape: ``Authorization: Bearer <METRICS_TOKEN>``, or a signed-in
    user allowed to see worker health (supervisors, superusers)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if settings.METRICS_TOKEN and scheme.lower() == "bearer":
        allowed = hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())
    elif request.user.is_authenticated:
        if not request.user.has_perm("core.view_workerheartbeat"):
            return HttpResponse("forbidden\n", status=403, content_type="text/plain")
        allowed = True
    else:
        allowed = False
    if not allowed:
        response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
