"""One provider stand-in in its own process, with its counters over HTTP: for benchmarks.

    python -m devtools.stand_ins twilio --port 8765 --stats-port 8766 --latency 0.2
    python -m devtools.stand_ins smtp --port 8025 --stats-port 8026 --connect-delay 0.1 --message-delay 0.01

``GET http://127.0.0.1:<stats-port>/`` answers the counters as JSON (messages
accepted, distinct recipients, the time of the last one); ``POST`` resets them.
Each runs in a process of its own, so the stand-ins never compete with the code
measured for one interpreter.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve_stats(port: int, stats: Callable[[], dict[str, float]], reset: Callable[[], None]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _answer(self, payload: dict[str, float]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer(stats())

        def do_POST(self) -> None:
            reset()
            self._answer(stats())

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["twilio", "smtp"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats-port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0, help="twilio: seconds before each answer")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="twilio: share answered 429 or 500")
    parser.add_argument("--connect-delay", type=float, default=0.0, help="smtp: seconds per new connection")
    parser.add_argument("--message-delay", type=float, default=0.0, help="smtp: seconds per message")
    arguments = parser.parse_args()
    if arguments.kind == "twilio":
        from devtools.fake_twilio import FakeTwilio

        twilio = FakeTwilio(
            port=arguments.port,
            latency=arguments.latency,
            failure_rate=arguments.failure_rate,
            keep_bodies=False,
        ).start()
        latency, failure_rate = arguments.latency, arguments.failure_rate

        def reset() -> None:
            twilio.reset()
            twilio.latency, twilio.failure_rate = latency, failure_rate

        serve_stats(arguments.stats_port, twilio.stats, reset)
    else:
        from devtools.smtp_sink import SmtpSink

        sink = SmtpSink(
            port=arguments.port,
            connect_delay=arguments.connect_delay,
            message_delay=arguments.message_delay,
            keep_messages=False,
        ).start()
        serve_stats(arguments.stats_port, sink.stats, sink.reset)
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
