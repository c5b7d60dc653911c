"""A local HTTP receiver for webhooks and chat messages: what an endpoint sees.

It keeps every request (headers and body) and can fail a share of them, answer a
scripted status, or not answer at all, so tests see retries, 410s and timeouts
through the real sending path. With ``secret`` it verifies the Standard Webhooks
signature with the ``standardwebhooks`` package's own verifier, as a receiver would:

    python -m devtools.webhook_receiver --port 9000 --secret whsec_…
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str

    def json(self) -> object:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, *, failure_rate: float = 0.0, seed: int = 7) -> None:
        self.received: list[Received] = []
        self.failure_rate = failure_rate
        self.replies: deque[int] = deque()  # scripted statuses for the next requests
        self.hang_seconds = 0.0
        self._random = random.Random(seed)  # noqa: S311 - reproducible failures, not security
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                status = receiver._status_for(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if receiver.hang_seconds:
                    time.sleep(receiver.hang_seconds)
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.replies.clear()
        self.failure_rate = 0.0
        self.hang_seconds = 0.0

    def _status_for(self, request: Received) -> int:
        with self._lock:
            if self.replies:
                status = self.replies.popleft()
            elif self.failure_rate and self._random.random() < self.failure_rate:
                status = 500
            else:
                status = 200
            if 200 <= status < 300:
                self.received.append(request)
        return status


def main() -> None:
    parser = argparse.ArgumentParser(description="Receive webhooks and verify their Standard Webhooks signature.")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True, help="the endpoint's signing secret (whsec_…)")
    arguments = parser.parse_args()
    from standardwebhooks import Webhook, WebhookVerificationError

    verifier = Webhook(arguments.secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                event = verifier.verify(body, dict(self.headers))
            except WebhookVerificationError as error:
                print(f"refused: {error}", flush=True)
                self.send_response(400)
            else:
                print(f"{self.headers['webhook-id']} {event['type']}: {json.dumps(event['data'])[:200]}", flush=True)
                self.send_response(204)
            self.end_headers()

    print(f"Receiving on http://127.0.0.1:{arguments.port}/ (Ctrl-C stops it).", flush=True)
    ThreadingHTTPServer(("127.0.0.1", arguments.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
