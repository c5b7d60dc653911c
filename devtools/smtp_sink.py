"""A local SMTP server that keeps what it receives: real SMTP for Django's backend.

python -m devtools.smtp_sink --port 8025
"""

from __future__ import annotations

import argparse
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.sink.refuse_next:
            self.sink.refuse_next -= 1
            return "451 try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)
        return "250 OK"


class SmtpSink:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse_next = 0
        self.controller = Controller(_Handler(self), hostname=host, port=port or _free_port(host))

    @property
    def port(self) -> int:
        return self.controller.port

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def received_by(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [message for message in self.messages if address in message["To"]]


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


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
            with sink.lock:
                for message in sink.messages[seen:]:
                    print(f"→ {message['To']}: {message['Subject']}", flush=True)
                seen = len(sink.messages)
    except KeyboardInterrupt:
        sink.stop()


if __name__ == "__main__":
    main()
