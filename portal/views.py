"""Public pages: the status page and its JSON and feed, history, parcel lookup, incident pages."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import parse_etags, parse_http_date_safe, url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from components.models import ServiceComponent
from core.database import database_unreachable
from core.ratelimit import client_key, proof_attempt_counting, proof_failure_record, rate_limited
from incidents.models import OPEN_STATUSES, Incident, Visibility
from notifications.models import StatusSubscription
from notifications.subscriptions import (
    CONFIRM_LINK_MAX_AGE,
    SignUpRefused,
    signed_link_read,
    subscription_code_check,
    subscription_request,
)
from notifications.subscriptions import subscription_cancel as cancel
from notifications.subscriptions import subscription_confirm as confirm
from portal.forms import CodeForm, LookupForm, SubscribeForm
from portal.lookup_page import lookup_result_page
from portal.lookup_result import lookup_result
from portal.published import Published, published
from portal.selectors import parcel_for_customer

logger = logging.getLogger(__name__)
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
        # Counted while the parcel is read; nothing it says is shown until the count allows it.
        refused = proof_attempt_counting(
            request,
            scope="lookup",
            tracking_number=data["tracking_number"],
            per_ip=settings.LOOKUPS_PER_IP,
            per_parcel=settings.LOOKUPS_PER_TRACKING_NUMBER,
            window_seconds=LOOKUP_WINDOW_SECONDS,
        )
        try:
            parcel = parcel_for_customer(tracking_number=data["tracking_number"], phone_last4=data["phone_last4"])
        except DatabaseError as error:
            if not database_unreachable(error):
                raise
            logger.exception("parcel lookup unavailable")
            return render(request, "portal/track.html", {**context, "unavailable": True}, status=503)
        if wait := refused():
            return too_many_attempts(request, "portal/track.html", context, wait)
        if parcel is not None:
            return _private(HttpResponse(lookup_result_page(request, lookup_result(parcel))))
        proof_failure_record(
            request, scope="lookup", tracking_number=data["tracking_number"], window_seconds=LOOKUP_WINDOW_SECONDS
        )
        form.add_error(
            None, _("We could not find a parcel with this tracking number and phone number. Check both and try again.")
        )
    return _private(render(request, "portal/track.html", context))


def _private(response: HttpResponse) -> HttpResponse:
    """Kept by no cache on the way: the page is one customer's parcel, or their form."""
    response["Cache-Control"] = "private, no-store"
    return response


def too_many_attempts(request: HttpRequest, template: str, context: dict[str, object], wait: int) -> HttpResponse:
    """429 with the wait in minutes on the page and in ``Retry-After``."""
    minutes = max(1, -(-wait // 60))
    response = render(request, template, {**context, "too_many": True, "wait_minutes": minutes}, status=429)
    response["Retry-After"] = str(wait)
    return response


@require_GET
def incident_page(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.published().select_related("category"), pk=incident_id)
    updates = incident.updates.filter(visibility=Visibility.PUBLIC).order_by("-created_at", "-id")
    components = incident.component_impacts.select_related("component").filter(component__is_public=True)
    return render(request, "portal/incident.html", {"incident": incident, "updates": updates, "components": components})


# For a CDN in front: fresh for 10 s, served stale while it revalidates, and for a day if we fail.
STATUS_CACHE_CONTROL = "public, max-age=10, s-maxage=10, stale-while-revalidate=30, stale-if-error=86400"
HISTORY_PAGE_SIZE = 20


def _gzip_etag(item: Published) -> str:
    return item.etag[:-1] + '-gz"'


def _not_modified(request: HttpRequest, item: Published) -> bool:
    # META, not request.headers: building the headers mapping costs more than the rest of the view.
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        tags = parse_etags(if_none_match)
        return "*" in tags or item.etag in tags or _gzip_etag(item) in tags
    since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
    return since is not None and int(item.last_modified.timestamp()) <= since


def _serve(request: HttpRequest, name: str, *, cors: bool = False) -> HttpResponse:
    """One published rendering, with validators and CDN caching; no SQL when warm."""
    # Never rendered and no database: DatabaseUnavailableMiddleware answers the 503.
    item = published(name, get_language())
    compressed = "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "")
    if _not_modified(request, item):
        response: HttpResponse = HttpResponseNotModified()
    elif compressed:
        response = HttpResponse(item.gzipped, content_type=item.content_type)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(item.body, content_type=item.content_type)
    # The compressed body is another representation: its own validator (RFC 9110 §8.8.3).
    response["ETag"] = _gzip_etag(item) if compressed else item.etag
    for header, value in item.headers.items():
        response[header] = value
    response["Cache-Control"] = STATUS_CACHE_CONTROL
    response["Vary"] = "Accept-Language, Cookie, Accept-Encoding"
    if cors:
        response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    return _serve(request, "status.html")


@require_safe
def status_api(request: HttpRequest, name: str) -> HttpResponse:
    return _serve(request, name, cors=True)


@require_safe
def status_feed(request: HttpRequest) -> HttpResponse:
    return _serve(request, "history.atom", cors=True)


@require_GET
def status_history(request: HttpRequest) -> HttpResponse:
    """Past incidents, newest first, paginated; read from the database (503 while it is down)."""
    incidents = (
        Incident.objects.published()
        .exclude(status__in=OPEN_STATUSES)
        .select_related("category")
        .order_by("-reported_at", "-id")
    )
    page = Paginator(incidents, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/history.html", {"page": page, "incidents": page.object_list})


@require_GET
def language_switch(request: HttpRequest, code: str) -> HttpResponse:
    """Set the language cookie and go back. A plain link, so cached pages need no CSRF token."""
    if code not in dict(settings.LANGUAGES):
        raise Http404
    target = request.GET.get("next") or request.headers.get("Referer") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = redirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


SUBSCRIBE_PER_IP = 10
SUBSCRIBE_PER_ADDRESS = 3
SUBSCRIBE_WINDOW_SECONDS = 3600
CODE_CHECKS_PER_IP = 20


def _public_components() -> list[tuple[int, str]]:
    return [(c.pk, c.localized_name) for c in ServiceComponent.objects.filter(is_public=True)]


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """Sign up for status notices; email is confirmed by link, SMS by code."""
    form = SubscribeForm(request.POST or None, components=_public_components())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if rate_limited(
            "subscribe-ip", client_key(request), limit=SUBSCRIBE_PER_IP, window_seconds=SUBSCRIBE_WINDOW_SECONDS
        ) or rate_limited(
            "subscribe-address", data["address"], limit=SUBSCRIBE_PER_ADDRESS, window_seconds=SUBSCRIBE_WINDOW_SECONDS
        ):
            return render(request, "portal/subscribe.html", {"form": form, "too_many": True}, status=429)
        try:
            subscription = subscription_request(
                channel=data["channel"],
                address=data["address"],
                language=get_language(),
                component_ids=[int(pk) for pk in data["components"]],
            )
        except SignUpRefused as refusal:
            if str(refusal) == "country":
                form.add_error("phone", _("We cannot send text messages to that country. Sign up by email instead."))
                return render(request, "portal/subscribe.html", {"form": form}, status=400)
            return render(request, "portal/subscribe.html", {"form": form, "too_many": True}, status=429)
        if data["channel"] == "sms":
            return redirect("status-subscription-code", token=subscription.token)
        return render(request, "portal/subscribe_sent.html", {"address": subscription.masked_address})
    return render(request, "portal/subscribe.html", {"form": form})


@require_http_methods(["GET", "POST"])
def subscription_code(request: HttpRequest, token: str) -> HttpResponse:
    subscription = get_object_or_404(StatusSubscription, token=token)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if rate_limited(
            "subscribe-code", client_key(request), limit=CODE_CHECKS_PER_IP, window_seconds=SUBSCRIBE_WINDOW_SECONDS
        ):
            return render(request, "portal/subscribe_code.html", {"form": form, "too_many": True}, status=429)
        if subscription_code_check(subscription=subscription, code=form.cleaned_data["code"]):
            return render(request, "portal/subscribe_done.html", {"subscription": subscription})
        form.add_error(
            "code",
            _("That code is not right, or it has expired. Check the text message, or sign up again for a new code."),
        )
    return render(request, "portal/subscribe_code.html", {"form": form, "address": subscription.masked_address})


@require_http_methods(["GET", "POST"])
def subscription_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the email. GET shows a button, POST confirms: mail scanners that open links confirm nothing."""
    subscription = signed_link_read(token, "confirm", max_age=CONFIRM_LINK_MAX_AGE)
    if subscription is None:
        return render(request, "portal/subscribe_invalid.html", status=400)
    if request.method == "POST":
        confirm(subscription=subscription)
        return render(request, "portal/subscribe_done.html", {"subscription": subscription})
    return render(request, "portal/subscribe_confirm.html", {"subscription": subscription})


@csrf_exempt  # mail clients' one-click unsubscribe (RFC 8058) sends no CSRF token; the signed link is the guard
@require_http_methods(["GET", "POST"])
def subscription_cancel(request: HttpRequest, token: str) -> HttpResponse:
    subscription = signed_link_read(token, "cancel")
    if subscription is None:
        return render(request, "portal/subscribe_invalid.html", status=400)
    if request.method == "POST":
        cancel(subscription=subscription)
    return render(request, "portal/subscribe_cancel.html", {"subscription": subscription, "token": token})
