"""Public pages: parcel lookup and incident pages."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.ratelimit import proof_attempts_exceeded
from incidents.models import Incident, Visibility
from portal.forms import LookupForm
from portal.selectors import parcel_for_customer

logger = logging.getLogger(__name__)
LOOKUPS_PER_IP = 30
LOOKUPS_PER_TRACKING_NUMBER = 10
LOOKUP_WINDOW_SECONDS = 600


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Tracking number plus the last four phone digits → the parcel's delay, cause, estimate and coupon.

    POST, so the digits never sit in a URL, a log or a referrer.
    """
    form = LookupForm(request.POST or None, initial={"tracking_number": request.GET.get("n", "")})
    context: dict[str, object] = {"form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if proof_attempts_exceeded(
            request,
            scope="lookup",
            tracking_number=data["tracking_number"],
            per_ip=LOOKUPS_PER_IP,
            per_parcel=LOOKUPS_PER_TRACKING_NUMBER,
            window_seconds=LOOKUP_WINDOW_SECONDS,
        ):
            return render(request, "portal/track.html", {**context, "too_many": True}, status=429)
        try:
            parcel = parcel_for_customer(tracking_number=data["tracking_number"], phone_last4=data["phone_last4"])
        except DatabaseError:
            logger.exception("parcel lookup unavailable")
            return render(request, "portal/track.html", {**context, "unavailable": True}, status=503)
        if parcel is None:
            form.add_error(
                None,
                _("We could not find a parcel with this tracking number and phone number. Check both and try again."),
            )
        context["parcel"] = parcel
    response = render(request, "portal/track.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def incident_page(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.select_related("category"), pk=incident_id)
    updates = incident.updates.filter(visibility=Visibility.PUBLIC).order_by("-created_at", "-id")
    components = incident.component_impacts.select_related("component").filter(component__is_public=True)
    return render(request, "portal/incident.html", {"incident": incident, "updates": updates, "components": components})
