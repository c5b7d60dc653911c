"""A local stand-in for an email provider's HTTP API (Postmark's ``POST /email``).

django-anymail's Postmark backend talks to it (``ANYMAIL_POSTMARK_API_URL``), so
the tests exercise sending through an email provider's API and its tracking
webhook (bounces, complaints, deliveries) end to end, with no network.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

from aiohttp import web


class FakePostmark:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.messages: list[dict[str, object]] = []
        self.refuse_next = 0  # answer "422 inactive recipient" to the next requests
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._serve, name="fake-postmark", daemon=True)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> FakePostmark:
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Postmark stand-in did not start")
        return self

    def stop(self) -> None:
        if self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self.thread.join(10)

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.refuse_next = 0

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        application = web.Application()
        application.router.add_post("/email", self._email)
        runner = web.AppRunner(application, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stopped.wait()
        await runner.cleanup()

    async def _email(self, request: web.Request) -> web.Response:
        if not request.headers.get("X-Postmark-Server-Token"):
            return web.json_response(
                {"ErrorCode": 10, "Message": "No Account or Server API tokens were supplied"}, status=401
            )
        payload = await request.json()
        with self._lock:
            if self.refuse_next:
                self.refuse_next -= 1
                return web.json_response(
                    {
                        "ErrorCode": 406,
                        "Message": "You tried to send to a recipient that has been marked as inactive.\n"
                        f"Found inactive addresses: {payload.get('To', '')}.\n"
                        "Inactive recipients are ones that have generated a hard bounce or a spam complaint. ",
                    },
                    status=422,
                )
            message_id = str(uuid.uuid4())
            self.messages.append({"MessageID": message_id, **payload})
        return web.json_response(
            {
                "To": payload.get("To", ""),
                "SubmittedAt": "2026-11-29T12:00:00Z",
                "MessageID": message_id,
                "ErrorCode": 0,
                "Message": "OK",
            }
        )
