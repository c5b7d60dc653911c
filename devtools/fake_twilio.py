"""A local stand-in for the part of Twilio's REST API we use: Messages create.

The real ``twilio`` SDK talks to it over HTTP (``TWILIO_API_BASE_URL``), so
tests, benchmarks and the demo exercise our whole sending path except the
carrier. Responses can be scripted per recipient (errors, latency) or made to
fail a share of requests at random.

    python -m devtools.fake_twilio --port 8765        # for the demo or a benchmark
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Reply:
    """One scripted answer: HTTP status, Twilio error code (for errors), delay before answering."""

    status: int = 201
    code: int | None = None
    delay: float = 0.0


class FakeTwilio:
    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0, failure_rate: float = 0.0
    ) -> None:
        self.latency = latency
        self.failure_rate = failure_rate
        self.messages: list[dict[str, str]] = []
        self.requests = 0
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._random = random.Random(7)  # noqa: S311 - reproducible failures, not security
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without this, delayed ACKs
            # add 40 ms to every keep-alive request.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = fake._answer(self.path, form)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        # A client that drops the connection (a killed worker) is expected, not worth a traceback.
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, to: str, *replies: Reply) -> None:
        """The next requests for ``to`` get these replies, in order; then success."""
        with self._lock:
            self._scripts[to].extend(replies)

    def sent_to(self, to: str) -> list[dict[str, str]]:
        with self._lock:
            return [message for message in self.messages if message["To"] == to]

    def _answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        to = form.get("To", "")
        with self._lock:
            self.requests += 1
            reply = self._scripts[to].popleft() if self._scripts.get(to) else None
            if reply is None and self.failure_rate and self._random.random() < self.failure_rate:
                # Half "slow down", half "we broke": the two failures a provider has on a bad day.
                reply = Reply(status=429, code=20429) if self._random.random() < 0.5 else Reply(status=500, code=20500)
        time.sleep((reply.delay if reply else 0) + self.latency)
        if not path.endswith("/Messages.json"):
            return 404, {"code": 20404, "message": "not found", "status": 404}
        if reply is not None and reply.status >= 400:
            return reply.status, {
                "code": reply.code,
                "message": f"scripted error {reply.code}",
                "more_info": "",
                "status": reply.status,
            }
        sid = "SM" + uuid.uuid4().hex
        message = {
            "sid": sid,
            "status": "queued",
            "to": to,
            "body": form.get("Body", ""),
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }
        with self._lock:
            self.messages.append(
                {"sid": sid, "To": to, "Body": form.get("Body", ""), "StatusCallback": form.get("StatusCallback", "")}
            )
        return 201, message


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local stand-in for Twilio's Messages API.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument(
        "--failure-rate", type=float, default=0.0, help="share of requests answered 429 or 500 (half each)"
    )
    arguments = parser.parse_args()
    fake = FakeTwilio(port=arguments.port, latency=arguments.latency, failure_rate=arguments.failure_rate).start()
    print(f"Fake Twilio on {fake.base_url} (set TWILIO_API_BASE_URL to it). Ctrl-C stops it.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
