"""Public endpoints: the unsubscribe link, and Twilio's webhooks."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from customers.models import Customer
from customers.services import customer_consent_set
from notifications.messages import unsubscribe_token_read
from notifications.receipts import inbound_sms_apply, notification_receipt_apply

logger = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@csrf_exempt  # mail clients' one-click POST (RFC 8058) carries no CSRF token; the signed token is the guard
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    data = unsubscribe_token_read(token)
    if data is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    customer = get_object_or_404(Customer, pk=data["customer"])
    channel = data["channel"]
    done = False
    if request.method == "POST":
        customer_consent_set(
            customer=customer,
            sms=customer.sms_consent if channel == "email" else False,
            email=customer.email_consent if channel == "sms" else False,
        )
        done = True
    return render(request, "notifications/unsubscribe.html", {"done": done, "channel": channel, "token": token})


def _twilio_signature_valid(request: HttpRequest) -> bool:
    from twilio.request_validator import RequestValidator

    if not settings.TWILIO_AUTH_TOKEN:
        return False
    # Behind a proxy the URL Twilio signed is the public one, not the one we see.
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    valid: bool = validator.validate(url, request.POST.dict(), request.headers.get("X-Twilio-Signature", ""))
    return valid


@csrf_exempt  # Twilio cannot send a CSRF token; X-Twilio-Signature is checked instead
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    if not _twilio_signature_valid(request):
        logger.warning("twilio status callback with a bad signature")
        return HttpResponseForbidden("bad signature")
    notification_receipt_apply(
        provider_message_id=request.POST.get("MessageSid", ""),
        provider_status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)


@csrf_exempt  # as above
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    if not _twilio_signature_valid(request):
        logger.warning("twilio inbound sms with a bad signature")
        return HttpResponseForbidden("bad signature")
    inbound_sms_apply(
        from_number=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        provider_message_id=request.POST.get("MessageSid", ""),
    )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@functools.cache
def _anymail_tracking_view(provider: str) -> Callable[..., HttpResponse]:
    from anymail import urls as anymail_urls

    for pattern in anymail_urls.urlpatterns:
        if getattr(pattern, "name", "") == f"{provider}_tracking_webhook":
            view: Callable[..., HttpResponse] = pattern.callback
            return view
    raise Http404


@csrf_exempt  # email providers cannot send a CSRF token; Anymail checks basic auth (ANYMAIL_WEBHOOK_SECRET)
@require_POST
def email_tracking(request: HttpRequest, provider: str) -> HttpResponse:
    """The configured email provider's tracking webhook (delivered, bounced, complained),
    normalised by Anymail and applied by ``receipts.email_tracking_apply``; any other provider is a 404."""
    if provider != settings.EMAIL_PROVIDER or provider not in settings.ANYMAIL_PROVIDERS:
        raise Http404
    return _anymail_tracking_view(provider)(request)
