"""A local SMTP server that keeps what it receives: real SMTP for Django's backend.

It can cost what a real relay costs: ``connect_delay`` once per connection (TCP,
STARTTLS and AUTH to a provider far away) and ``message_delay`` per message, so
a benchmark sees the price of opening a connection per message.

    python -m devtools.smtp_sink --port 8025
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.sink.lock:
            self.sink.connections += 1
        if self.sink.connect_delay:
            await asyncio.sleep(self.sink.connect_delay)
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.sink.message_delay:
            await asyncio.sleep(self.sink.message_delay)
        with self.sink.lock:
            if self.sink.refuse_next:
                self.sink.refuse_next -= 1
                return "451 try again later"
            self.sink.accepted += 1
            self.sink.last_accepted_at = time.time()
            self.sink.first_accepted_at = self.sink.first_accepted_at or self.sink.last_accepted_at
            for recipient in envelope.rcpt_tos:
                self.sink.recipients[recipient] += 1
            if self.sink.keep_messages and isinstance(envelope.content, bytes):  # not decoded: decode_data is off
                self.sink.raw.append(envelope.content)
        return "250 OK"


class SmtpSink:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        connect_delay: float = 0.0,
        message_delay: float = 0.0,
        keep_messages: bool = True,
    ) -> None:
        self.raw: list[bytes] = []
        self._parsed: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse_next = 0
        self.connect_delay = connect_delay
        self.message_delay = message_delay
        # A benchmark of 10⁵ messages counts them instead of keeping them.
        self.keep_messages = keep_messages
        self.accepted = 0
        self.connections = 0
        self.first_accepted_at = self.last_accepted_at = 0.0
        self.recipients: Counter[str] = Counter()
        self.controller = Controller(_Handler(self), hostname=host, port=port or _free_port(host))

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def messages(self) -> list[EmailMessage]:
        """What was received, parsed (on first access: parsing costs more than receiving)."""
        with self.lock:
            for raw in self.raw[len(self._parsed) :]:
                self._parsed.append(message_from_bytes(raw, policy=policy.default))
            return list(self._parsed)

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def restart(self) -> None:
        """Stop and start again on the same port, as a relay restarting: open connections break."""
        host, port = self.controller.hostname, self.controller.port
        self.controller.stop()
        self.controller = Controller(_Handler(self), hostname=host, port=port)
        self.controller.start()

    def reset(self) -> None:
        with self.lock:
            self.raw.clear()
            self._parsed.clear()
            self.refuse_next = 0
            self.accepted = self.connections = 0
            self.first_accepted_at = self.last_accepted_at = 0.0
            self.recipients.clear()

    def received_by(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if address in message["To"]]

    def stats(self) -> dict[str, float]:
        with self.lock:
            return {
                "accepted": self.accepted,
                "unique": len(self.recipients),
                "connections": self.connections,
                "first_accepted_at": self.first_accepted_at,
                "last_accepted_at": self.last_accepted_at,
            }


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local SMTP server that prints what it receives.")
    parser.add_argument("--port", type=int, default=8025)
    arguments = parser.parse_args()
    sink = SmtpSink(port=arguments.port).start()
    print(
        f"SMTP sink on 127.0.0.1:{sink.port} (EMAIL_HOST=127.0.0.1 EMAIL_PORT={sink.port} EMAIL_USE_TLS=false).",
        flush=True,
    )
    seen = 0
    try:
        while True:
            time.sleep(1)
            received = sink.messages
            for message in received[seen:]:
                print(f"→ {message['To']}: {message['Subject']}", flush=True)
            seen = len(received)
    except KeyboardInterrupt:
        sink.stop()


if __name__ == "__main__":
    main()
