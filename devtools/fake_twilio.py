"""A local stand-in for the part of Twilio's REST API we use: Messages create.

The real ``twilio`` SDK talks to it over HTTP (``TWILIO_API_BASE_URL``), so
tests, benchmarks and the demo exercise our whole sending path except the
carrier. Responses can be scripted per recipient (errors, latency) or made to
fail a share of requests at random.

It is an asyncio server (aiohttp) on its own thread: a latency of 200 ms with
hundreds of requests in flight costs it timers, not threads, so in a benchmark
the stand-in is never what limits the sender.

    python -m devtools.fake_twilio --port 8765        # for the demo or a benchmark
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """One scripted answer: HTTP status, Twilio error code (for errors), delay before answering."""

    status: int = 201
    code: int | None = None
    delay: float = 0.0


class FakeTwilio:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        keep_bodies: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.latency = latency
        self.failure_rate = failure_rate
        # A benchmark of 10⁵ messages keeps recipients and sids only.
        self.keep_bodies = keep_bodies
        self.messages: list[dict[str, str]] = []
        self.recipients: Counter[str] = Counter()
        self.first_accepted_at = self.last_accepted_at = 0.0
        self.requests = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._random = random.Random(7)  # noqa: S311 - reproducible failures, not security
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._serve, name="fake-twilio", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeTwilio:
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Twilio stand-in did not start")
        return self

    def stop(self) -> None:
        if self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self.thread.join(10)

    def script(self, to: str, *replies: Reply) -> None:
        """The next requests for ``to`` get these replies, in order; then success."""
        with self._lock:
            self._scripts[to].extend(replies)

    def sent_to(self, to: str) -> list[dict[str, str]]:
        with self._lock:
            return [message for message in self.messages if message["To"] == to]

    def stats(self) -> dict[str, float]:
        with self._lock:
            return {
                "accepted": sum(self.recipients.values()),
                "unique": len(self.recipients),
                "requests": self.requests,
                "most_in_flight": self.most_in_flight,
                "first_accepted_at": self.first_accepted_at,
                "last_accepted_at": self.last_accepted_at,
            }

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.recipients.clear()
            self._scripts.clear()
            self.first_accepted_at = self.last_accepted_at = 0.0
            self.requests = 0
            self.most_in_flight = 0
        self.failure_rate = 0.0
        self.latency = 0.0

    # --- the server ------------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(application, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=1024, reuse_address=True)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stopped.wait()
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl((await request.read()).decode()))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            reply = self._reply_for(form.get("To", ""))
            delay = (reply.delay if reply else 0) + self.latency
            if delay:
                await asyncio.sleep(delay)
        finally:
            self.in_flight -= 1
        status, body = self._answer(request.method, request.path, form, reply)
        return web.json_response(body, status=status)

    def _reply_for(self, to: str) -> Reply | None:
        with self._lock:
            self.requests += 1
            if self._scripts.get(to):
                return self._scripts[to].popleft()
            if self.failure_rate and self._random.random() < self.failure_rate:
                # Half "slow down", half "we broke": the two failures a provider has on a bad day.
                return Reply(status=429, code=20429) if self._random.random() < 0.5 else Reply(status=500, code=20500)
        return None

    def _answer(
        self, method: str, path: str, form: dict[str, str], reply: Reply | None
    ) -> tuple[int, dict[str, object]]:
        if method != "POST" or not path.endswith("/Messages.json"):
            return 404, {"code": 20404, "message": "not found", "status": 404}
        if reply is not None and reply.status >= 400:
            return reply.status, {
                "code": reply.code,
                "message": f"scripted error {reply.code}",
                "more_info": "",
                "status": reply.status,
            }
        sid = "SM" + uuid.uuid4().hex
        to = form.get("To", "")
        with self._lock:
            self.recipients[to] += 1
            self.last_accepted_at = time.time()
            self.first_accepted_at = self.first_accepted_at or self.last_accepted_at
            if self.keep_bodies:
                self.messages.append(
                    {
                        "sid": sid,
                        "To": to,
                        "Body": form.get("Body", ""),
                        "StatusCallback": form.get("StatusCallback", ""),
                    }
                )
        return 201, {
            "sid": sid,
            "status": "queued",
            "to": to,
            "body": form.get("Body", "") if self.keep_bodies else "",
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }


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
