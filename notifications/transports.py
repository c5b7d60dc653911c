"""One transport per channel; each raises ``TransportError`` saying whether to retry.

All provider traffic goes through here, with explicit timeouts:

- SMS: Twilio's Messages API through the SDK's asyncio client (aiohttp), so one
  process keeps many requests in flight on one thread. Measured against a thread
  pool over the SDK's ``requests`` client on this machine (``bench/sms_clients.py``):
  the same throughput at the same number in flight, for a third of the CPU per
  message (0.24 ms against 0.81 ms), and CPU is what a two-core host runs out of.
- Email: Django's email backend (SMTP, or an email provider's HTTP API through
  django-anymail), one open connection per lane thread, reused across messages.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import ipaddress
import logging
import smtplib
import socket
import threading
import time
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from notifications.provider_errors import twilio_rule

if TYPE_CHECKING:
    # aiohttp and the Twilio SDK load with the first message, not with the module.
    from aiohttp.abc import AbstractResolver
    from aiohttp.typedefs import Query
    from twilio.http.async_http_client import AsyncTwilioHttpClient

logger = logging.getLogger(__name__)

# Webhook deliveries and chat messages a process has out at once: few, so a slow or
# dead endpoint holds only these while SMS and email go on.
WEBHOOK_SLOTS = 16
CHAT_LANES = 2
# An SMTP server drops a connection left idle for long; reopening one quiet for
# this long costs a handshake, sending into a dropped one costs a failed message.
EMAIL_IDLE_SECONDS = 30
# A connection unused for longer than this is asked whether it is still there (NOOP,
# one round trip) before a message goes into it: a relay that restarted or dropped it
# meanwhile costs a reconnect, not a failed message retried minutes later. A lane with
# work queued goes from one message to the next at once, so a busy lane never asks.
EMAIL_PROBE_AFTER_SECONDS = 0.05


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


# --- SMS ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsConfig:
    """What an SMS transport is built from; a change (tests, a reload) builds a new one."""

    enabled: bool
    account_sid: str
    auth_token: str
    base_url: str
    timeout: float
    messaging_service_sid: str
    from_numbers: tuple[str, ...]
    status_callback: str

    @classmethod
    def from_settings(cls) -> SmsConfig:
        return cls(
            enabled=settings.SMS_ENABLED,
            account_sid=settings.TWILIO_ACCOUNT_SID,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            base_url=settings.TWILIO_API_BASE_URL,
            timeout=float(settings.TWILIO_TIMEOUT_SECONDS),
            messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID,
            from_numbers=tuple(settings.TWILIO_FROM_NUMBERS),
            status_callback=f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/status",
        )

    def sender_for(self, recipient: str) -> str:
        """The Messaging Service, or one of the numbers: always the same one for a
        recipient, so their replies (STOP) reach the number that wrote to them."""
        if self.messaging_service_sid or not self.from_numbers:
            return self.messaging_service_sid
        return self.from_numbers[zlib.crc32(recipient.encode()) % len(self.from_numbers)]


def _twilio_http_client(*, timeout: float, max_connections: int) -> AsyncTwilioHttpClient:
    """The SDK's asyncio HTTP client with a timeout that holds and no per-request logging.

    The SDK's own passes ``timeout=None`` to aiohttp on every request (no timeout
    at all) and formats ten log lines per request whether or not they are shown.
    """
    import aiohttp
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.http.response import Response

    class TwilioHttp(AsyncTwilioHttpClient):  # type: ignore[misc]  # the Twilio SDK ships no types
        def __init__(self) -> None:
            super().__init__(pool_connections=False)
            self.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0)),
                connector=aiohttp.TCPConnector(limit=max_connections, limit_per_host=max_connections),
            )
            self._authorization: dict[tuple[str, str], str] = {}

        async def request(
            self,
            method: str,
            url: str,
            params: Query = None,
            data: dict[str, object] | None = None,
            headers: dict[str, str] | None = None,
            auth: tuple[str, str] | None = None,
            timeout: float | None = None,
            allow_redirects: bool = False,
        ) -> Response:
            headers = dict(headers or {})
            if auth is not None:
                if auth not in self._authorization:
                    self._authorization[auth] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
                headers["Authorization"] = self._authorization[auth]
            async with self.session.request(
                method.upper(), url, params=params, data=data, headers=headers, allow_redirects=allow_redirects
            ) as response:
                return Response(response.status, await response.text(), response.headers)

    return TwilioHttp()


class SmsTransport:
    """One aiohttp session per process and configuration; lives on the engine's event loop."""

    def __init__(self, config: SmsConfig, *, max_connections: int) -> None:
        from twilio.rest import Client

        self.config = config
        self._http = _twilio_http_client(timeout=config.timeout, max_connections=max_connections)
        self._client = Client(config.account_sid, config.auth_token, http_client=self._http)
        if config.base_url:
            self._client.api.base_url = config.base_url

    async def close(self) -> None:
        await self._http.session.close()

    async def send(self, *, to: str, body: str, notification_id: int) -> Sent:
        import aiohttp
        from twilio.base.exceptions import TwilioException, TwilioRestException

        if not self.config.enabled:
            # Not configured: written to the log, never dropped in silence.
            logger.info(
                "sms not sent: Twilio is not configured", extra={"notification": notification_id, "to_suffix": to[-4:]}
            )
            return Sent(provider_message_id=f"log-{notification_id}", provider_status="logged")
        options: dict[str, Any] = {"to": to, "body": body, "status_callback": self.config.status_callback}
        sender = self.config.sender_for(to)
        if self.config.messaging_service_sid:
            options["messaging_service_sid"] = sender
        else:
            options["from_"] = sender
        try:
            message = await self._client.messages.create_async(**options)
        except TwilioRestException as error:
            rule = twilio_rule(code=error.code, http_status=error.status)
            raise TransportError(
                f"twilio {error.code or error.status}: {rule.meaning}", permanent=rule.permanent, opt_out=rule.opt_out
            ) from None
        except TimeoutError:
            raise TransportError("twilio read timeout", permanent=False, uncertain=True) from None
        except aiohttp.ClientConnectorError as error:
            # Never connected: the provider has nothing.
            raise TransportError(f"twilio connection: {type(error).__name__}", permanent=False) from None
        except (aiohttp.ClientError, TwilioException, OSError) as error:
            # Cut off after the request went out: it may have been taken.
            raise TransportError(
                f"twilio connection: {type(error).__name__}", permanent=False, uncertain=True
            ) from None
        return Sent(provider_message_id=message.sid or "", provider_status=message.status or "queued")


# --- email -------------------------------------------------------------------------------


def _email_config() -> tuple[object, ...]:
    return (
        settings.EMAIL_BACKEND,
        getattr(settings, "EMAIL_HOST", ""),
        getattr(settings, "EMAIL_PORT", 0),
        getattr(settings, "EMAIL_HOST_USER", ""),
        getattr(settings, "EMAIL_USE_TLS", False),
        settings.EMAIL_TIMEOUT,
        tuple(sorted((key, str(value)) for key, value in getattr(settings, "ANYMAIL", {}).items())),
    )


class EmailLanes:
    """A few threads, each holding one open email connection it reuses for every
    message it sends; a failed send closes it, and the next send opens a new one.

    With SMTP the handshake (TCP, STARTTLS, AUTH) is paid once per lane, not once
    per message; with an email provider's API, the HTTP keep-alive session is.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="email-lane")
        self._local = threading.local()
        self.connections_opened = 0
        self._count_lock = threading.Lock()

    def submit(self, message: EmailMessage) -> Future[Sent]:
        return self._pool.submit(self._send, message)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)

    def _connection(self) -> Any:
        local = self._local
        config = _email_config()
        connection = getattr(local, "connection", None)
        if connection is not None:
            idle = time.monotonic() - local.used_at
            stale = local.config != config or idle > EMAIL_IDLE_SECONDS
            if stale or (idle > EMAIL_PROBE_AFTER_SECONDS and not _still_open(connection)):
                self._close()
        if getattr(local, "connection", None) is None:
            connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
            connection.open()
            local.connection, local.config = connection, config
            with self._count_lock:
                self.connections_opened += 1
        local.used_at = time.monotonic()
        return local.connection

    def _close(self) -> None:
        connection, self._local.connection = getattr(self._local, "connection", None), None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to say goodbye
                logger.debug("email connection closed uncleanly")

    def _send(self, message: EmailMessage) -> Sent:
        try:
            message.connection = self._connection()
            message.send()
        except Exception as error:  # noqa: BLE001 - any failure closes the connection; email_error re-raises what it does not know
            self._close()
            raise email_error(error) from None
        finally:
            self._local.used_at = time.monotonic()
        status = getattr(message, "anymail_status", None)
        if status is not None and status.message_id:
            return Sent(
                provider_message_id=str(status.message_id)[:64],
                provider_status=",".join(sorted(status.status or ["sent"])),
            )
        return Sent(provider_message_id=message.extra_headers.get("Message-ID", "")[:64], provider_status="sent")


def _still_open(connection: Any) -> bool:
    """Whether an SMTP connection still answers (``NOOP``); any other backend (an email
    provider's HTTP session, the console) reconnects by itself and is taken as open."""
    smtp = getattr(connection, "connection", None)
    if not isinstance(smtp, smtplib.SMTP):
        return True
    try:
        code, _message = smtp.noop()
    except (smtplib.SMTPException, OSError):
        return False
    return bool(code == 250)


def email_error(error: Exception) -> TransportError:
    """What a failed email means: retry later, or give up now."""
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return TransportError(f"smtp refused recipient: {error.recipients}"[:300], permanent=True)
    if isinstance(error, smtplib.SMTPResponseException):
        return TransportError(
            f"smtp {error.smtp_code}: {error.smtp_error!r}"[:300], permanent=500 <= error.smtp_code < 600
        )
    if isinstance(error, TimeoutError):
        return TransportError("email timeout", permanent=False, uncertain=True)
    if isinstance(error, AnymailRecipientsRefused):
        return TransportError(f"email provider refused the recipient: {error}"[:300], permanent=True)
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        permanent = status is not None and 400 <= status < 500 and status not in (408, 425, 429)
        return TransportError(f"email provider {status or 'unreachable'}: {error}"[:300], permanent=permanent)
    if isinstance(error, OSError | smtplib.SMTPException):
        return TransportError(f"smtp: {type(error).__name__}: {error}"[:300], permanent=False)
    raise error


# --- webhooks ------------------------------------------------------------------------------

# Enough of an answer to log; a receiver that answers more is not read further.
WEBHOOK_RESPONSE_READ_LIMIT = 64 * 1024


class PrivateAddressRefused(OSError):
    """A webhook URL that leads to a private, loopback or link-local address."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast)


def webhook_url_refusal(url: str) -> str:
    """Why a webhook URL may not be used, or ''. Host names are checked again when resolved."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return ""
    if parts.scheme != "https":
        return "only https URLs are allowed"
    try:
        if not _is_public(parts.hostname):
            return "a private, loopback or link-local address"
    except ValueError:
        pass  # a host name: its addresses are checked when it is resolved
    return ""


@dataclass(frozen=True)
class WebhookConfig:
    timeout: float
    allow_private: bool

    @classmethod
    def from_settings(cls) -> WebhookConfig:
        return cls(
            timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS), allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES
        )


class WebhookTransport:
    """Signed POSTs to endpoints: short timeouts, no redirects, a bounded read, and (in
    production) no private addresses, checked on every name resolution as well."""

    def __init__(self, config: WebhookConfig, *, max_connections: int) -> None:
        import aiohttp

        self.config = config
        resolver = None if config.allow_private else _public_only_resolver()
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=config.timeout, connect=min(config.timeout, 5.0)),
            connector=aiohttp.TCPConnector(limit=max_connections, resolver=resolver),
        )

    async def close(self) -> None:
        await self._session.close()

    async def send(self, *, url: str, body: str, headers: dict[str, str]) -> Sent:
        import aiohttp

        refusal = webhook_url_refusal(url) if not self.config.allow_private else ""
        if refusal:
            raise TransportError(f"webhook URL refused: {refusal}", permanent=True)
        try:
            async with self._session.post(url, data=body.encode(), headers=headers, allow_redirects=False) as response:
                await response.content.read(WEBHOOK_RESPONSE_READ_LIMIT)
                status = response.status
        except TimeoutError:
            raise TransportError("webhook timeout", permanent=False, uncertain=True) from None
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.__cause__, PrivateAddressRefused) or isinstance(error.os_error, PrivateAddressRefused):
                raise TransportError(f"webhook URL refused: {error.os_error}", permanent=True) from None
            raise TransportError(f"webhook connection: {type(error).__name__}", permanent=False) from None
        except (aiohttp.ClientError, OSError) as error:
            raise TransportError(
                f"webhook connection: {type(error).__name__}", permanent=False, uncertain=True
            ) from None
        if 200 <= status < 300:
            return Sent(provider_message_id="", provider_status=str(status))
        if status == 410:
            raise TransportError("HTTP 410: the endpoint is gone", permanent=True, opt_out=True)
        if 300 <= status < 400:
            raise TransportError(f"HTTP {status}: redirects are not followed", permanent=True)
        raise TransportError(f"HTTP {status}", permanent=False)


def _public_only_resolver() -> AbstractResolver:
    import aiohttp
    from aiohttp.abc import AbstractResolver, ResolveResult

    class PublicOnlyResolver(AbstractResolver):
        def __init__(self) -> None:
            self._resolver = aiohttp.DefaultResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            found = await self._resolver.resolve(host, port, family)
            public = [entry for entry in found if _is_public(entry["host"])]
            if not public:
                raise PrivateAddressRefused(f"{host} leads to a private address")
            return public

        async def close(self) -> None:
            await self._resolver.close()

    return PublicOnlyResolver()


# --- chat (Apprise) --------------------------------------------------------------------------


def chat_send(*, apprise_url: str, title: str, body: str) -> Sent:
    """One message to a chat through Apprise (its own timeouts: a few seconds)."""
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(apprise_url):
        raise TransportError("not an Apprise URL this installation knows", permanent=True)
    if not notifier.notify(title=title, body=body):
        raise TransportError("the chat did not take the message", permanent=False)
    return Sent(provider_message_id="", provider_status="sent")


# --- the engine: everything a process has in flight ----------------------------------------


class Engine:
    """Per process: an asyncio loop on its own thread for SMS, email lanes for email.

    Callers on any thread hand it messages and get a ``concurrent.futures.Future``
    back; how many are outstanding is the caller's business (``sending.py`` keeps
    it at ``NOTIFICATION_MAX_IN_FLIGHT``).
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sms-loop", daemon=True)
        self._thread.start()
        self.email = EmailLanes(settings.NOTIFICATION_EMAIL_CONNECTIONS)
        self.chat = ThreadPoolExecutor(max_workers=CHAT_LANES, thread_name_prefix="chat-lane")
        self._sms: SmsTransport | None = None
        self._webhooks: WebhookTransport | None = None
        atexit.register(self.close)

    def close(self) -> None:
        """Close the HTTP sessions and stop the loop (at exit: no connection is left to the collector)."""

        async def close_sessions() -> None:
            for transport in (self._sms, self._webhooks):
                if transport is not None:
                    await transport.close()

        if self.loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(close_sessions(), self.loop).result(timeout=5)
            except Exception:  # noqa: BLE001 - exiting: a session that will not close is dropped
                logger.debug("sending sessions not closed cleanly")
            self.loop.call_soon_threadsafe(self.loop.stop)

    def send_sms(self, *, config: SmsConfig, to: str, body: str, notification_id: int) -> Future[Sent]:
        return asyncio.run_coroutine_threadsafe(self._send_sms(config, to, body, notification_id), self.loop)

    def send_email(self, message: EmailMessage) -> Future[Sent]:
        return self.email.submit(message)

    def send_webhook(self, *, config: WebhookConfig, url: str, body: str, headers: dict[str, str]) -> Future[Sent]:
        return asyncio.run_coroutine_threadsafe(self._send_webhook(config, url, body, headers), self.loop)

    def send_chat(self, *, apprise_url: str, title: str, body: str) -> Future[Sent]:
        return self.chat.submit(chat_send, apprise_url=apprise_url, title=title, body=body)

    async def _send_webhook(self, config: WebhookConfig, url: str, body: str, headers: dict[str, str]) -> Sent:
        if self._webhooks is None or self._webhooks.config != config:
            if self._webhooks is not None:
                await self._webhooks.close()
            self._webhooks = WebhookTransport(config, max_connections=WEBHOOK_SLOTS)
        return await self._webhooks.send(url=url, body=body, headers=headers)

    async def _send_sms(self, config: SmsConfig, to: str, body: str, notification_id: int) -> Sent:
        if self._sms is None or self._sms.config != config:
            if self._sms is not None:
                await self._sms.close()
            self._sms = SmsTransport(config, max_connections=settings.NOTIFICATION_MAX_IN_FLIGHT)
        return await self._sms.send(to=to, body=body, notification_id=notification_id)


_engine: tuple[int, Engine] | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """This process's engine, made on first use: a prefork worker's children each
    make their own after the fork (threads do not survive one)."""
    import os

    global _engine
    with _engine_lock:
        if _engine is None or _engine[0] != os.getpid():
            _engine = (os.getpid(), Engine())
        return _engine[1]
