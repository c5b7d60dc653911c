"""One transport per channel; each raises ``TransportError`` saying whether to retry.

All provider traffic goes through here, with explicit timeouts.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from notifications.provider_errors import twilio_rule

logger = logging.getLogger(__name__)


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool, opt_out: bool = False, uncertain: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.opt_out = opt_out
        # The request may have reached the provider before the connection broke.
        self.uncertain = uncertain


@dataclass(frozen=True)
class Sent:
    provider_message_id: str
    provider_status: str


def _twilio_client():  # type: ignore[no-untyped-def]
    return _cached_twilio_client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        settings.TWILIO_TIMEOUT_SECONDS,
    )


@lru_cache(maxsize=4)
def _cached_twilio_client(account_sid: str, auth_token: str, base_url: str, timeout: float):  # type: ignore[no-untyped-def]
    # One client per process keeps its HTTP connections alive between messages.
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout, pool_connections=True))
    if base_url:
        client.api.base_url = base_url
    return client


def send_sms(*, to: str, body: str, notification_id: int) -> Sent:
    if not settings.SMS_ENABLED:
        # Not configured: written to the log, never dropped in silence.
        logger.info(
            "sms not sent: Twilio is not configured", extra={"notification": notification_id, "to_suffix": to[-4:]}
        )
        return Sent(provider_message_id=f"log-{notification_id}", provider_status="logged")
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ReadTimeout
    from twilio.base.exceptions import TwilioException, TwilioRestException

    options = {"to": to, "body": body, "status_callback": f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/status"}
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        options["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
    else:
        options["from_"] = settings.TWILIO_FROM_NUMBER
    try:
        message = _twilio_client().messages.create(**options)
    except TwilioRestException as error:
        rule = twilio_rule(code=error.code, http_status=error.status)
        raise TransportError(
            f"twilio {error.code or error.status}: {rule.meaning}", permanent=rule.permanent, opt_out=rule.opt_out
        ) from None
    except ReadTimeout:
        raise TransportError("twilio read timeout", permanent=False, uncertain=True) from None
    except (RequestsConnectionError, TwilioException, OSError) as error:
        raise TransportError(f"twilio connection: {type(error).__name__}", permanent=False) from None
    return Sent(provider_message_id=message.sid, provider_status=message.status or "queued")


def send_email(*, message: EmailMultiAlternatives) -> Sent:
    try:
        connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", 10))
        message.connection = connection
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        raise TransportError(f"smtp refused recipient: {error.recipients}"[:300], permanent=True) from None
    except smtplib.SMTPResponseException as error:
        raise TransportError(
            f"smtp {error.smtp_code}: {error.smtp_error!r}"[:300], permanent=500 <= error.smtp_code < 600
        ) from None
    except TimeoutError:
        raise TransportError("smtp timeout", permanent=False, uncertain=True) from None
    except (OSError, smtplib.SMTPException) as error:
        raise TransportError(f"smtp: {type(error).__name__}: {error}"[:300], permanent=False) from None
    return Sent(provider_message_id=message.extra_headers.get("Message-ID", ""), provider_status="sent")
