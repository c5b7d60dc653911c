"""The public portal under a crowd, side by side with the best this machine can do.

Starts, on a scratch database with the demo data and (by default) 1,000,000 orders:

- the project under gunicorn (sync workers, as deploy/gunicorn.conf.py),
- a minimal Django app (bench/minimal_app.py) under gunicorn with the same flags,
  answering the bytes and headers the project gave for the same request, and
  running one indexed query on the orders table for the lookup,
- nginx with the shipped deploy/nginx configuration (TLS off, everything else as
  shipped: ``/`` from the files the project publishes, the cache behind it) in front
  of the project, and a second nginx server answering the same bytes from a static file,

then drives each with wrk at 64 connections, our side and its yardstick back to back
in each round (the machine is shared: a pair sees the same load), and prints the
best round's requests per second and p99 of each, and the median of the rounds' ratios:

- ``/`` and ``/api/v2/summary.json``: the project against the minimal app (goal ≥ 0.95, p99 ≤ 50 ms),
- ``/`` behind the shipped nginx against nginx serving the file (goal ≥ 0.8),
- ``POST /track/`` with right digits for random parcels among the 1M (one in eight
  delayed by an open incident) against the minimal app's one-query view (goal ≥ 0.5,
  p99 ≤ 100 ms).

    .venv/bin/python -m bench.status_load                        # 1M orders, 10 s per run, 3 rounds
    .venv/bin/python -m bench.status_load --orders 100000 --seconds 5

Needs wrk and nginx (Debian: apt-get install wrk nginx-light) and a local
PostgreSQL and Redis. wrk runs on the same machine, so every side shares the
cores the same way.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devtools.harness import ROOT, free_port, scratch_django, wait_until_answering
from devtools.nginx import binary, main_config, running, shipped_server

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parcel_bench_portal")


# Free ports, so two engineers can run the bench on one machine.
PROJECT_PORT, MINIMAL_PORT, CACHE_PORT, FILE_PORT = (free_port() for _ in range(4))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
CONNECTIONS = 64
# What wrk sends with every request, as a browser would.
REQUEST_HEADERS = {"Accept-Language": "zh-CN", "Accept-Encoding": "gzip"}
# Added by gunicorn or nginx, not by the application.
SERVER_HEADERS = {"date", "server", "connection", "transfer-encoding", "keep-alive"}
PAGES = ("/", "/api/v2/summary.json")


def seed(orders: int) -> list[tuple[str, str]]:
    """Demo data plus ``orders`` parcels, one hub's parcels (an eighth) delayed by an open
    incident; returns (tracking number, last 4 digits) of 2,000 random parcels."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection

    from core import roles
    from incidents.criteria import Estimate, LinkCriteria
    from incidents.linking import incident_link_orders
    from ops.demo import HUBS
    from tests.factories import UserFactory, declare_incident

    call_command("seed_demo", verbosity=0)
    if orders:
        call_command("seed_demo", orders=orders, prefix="BN")
    manager = UserFactory(role=roles.SUPERVISOR)
    incident = declare_incident(
        actor=manager, title_zh="暴雨:上海转运中心延误", title_en="Rainstorm: Shanghai hub delayed"
    )
    hub = HUBS[0][0]
    delayed = incident_link_orders(
        incident=incident,
        criteria=LinkCriteria(hubs=[hub]),
        estimate=Estimate(delay=timedelta(hours=24)),
        actor=manager,
        notify=False,
    )
    print(f"{delayed:,} parcels at {hub} delayed by an open incident")
    with connection.cursor() as cursor:
        for table in ("orders_order", "customers_customer", "incidents_affectedorder"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(
            "SELECT o.tracking_number, right(c.phone, 4) FROM orders_order o TABLESAMPLE SYSTEM (1)"
            " JOIN customers_customer c ON c.id = o.customer_id LIMIT 2000"
        )
        return cursor.fetchall()


def _get(url: str) -> urllib.request.addinfourl:
    request = urllib.request.Request(url, headers=REQUEST_HEADERS)  # noqa: S310 - our own local servers
    return urllib.request.urlopen(request, timeout=5)  # noqa: S310 - our own local servers


@contextmanager
def gunicorn(app: str, port: int, workers: int, environment: dict[str, str], probe: str):  # type: ignore[no-untyped-def]
    """gunicorn with the same flags whatever the app: sync workers (as deploy/gunicorn.conf.py), no access log."""
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), app, "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--worker-class", "sync", "--backlog", "2048"]
    server = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_answering(server, f"http://127.0.0.1:{port}{probe}", app)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def project_environment(published: Path) -> dict[str, str]:
    return {
        **os.environ,
        "STATUS_PUBLISH_DIR": str(published),  # as production: nginx sends the status page from there
        "DATABASE_URL": SERVER_URL,
        "REDIS_URL": REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "LOOKUPS_PER_IP": "1000000000",
        "LOOKUPS_PER_TRACKING_NUMBER": "1000000000",
    }


def capture_answers(pages: tuple[str, ...]) -> dict[str, dict]:  # type: ignore[type-arg]
    """What the project answers for each page, without the headers the server adds."""
    answers = {}
    for page in pages:
        response = _get(f"http://127.0.0.1:{PROJECT_PORT}{page}")
        headers = [(name, value) for name, value in response.getheaders() if name.lower() not in SERVER_HEADERS]
        answers[page] = {
            "status": response.status,
            "headers": headers,
            "body": base64.b64encode(response.read()).decode(),
        }
    return answers


def nginx_servers(workdir: Path, static_file: Path, headers: list[tuple[str, str]]) -> str:
    """The shipped parcel.conf (TLS off, on our port, the published files where the project
    writes them), plus a server answering ``static_file`` with ``headers`` (the app's), so both
    send the same bytes."""
    content_type = next(value for name, value in headers if name.lower() == "content-type")
    file_headers = "\n            ".join(
        f'add_header {name} "{_nginx_quoted(value)}";'
        for name, value in headers
        if name.lower() not in {"content-type", "content-length", "last-modified"}
    )
    return f"""
    {shipped_server(workdir, CACHE_PORT, workdir / "published")}
    server {{
        listen 127.0.0.1:{FILE_PORT};
        server_tokens off;
        etag off;
        open_file_cache max=100 inactive=60s;  # as the status page's location: the best a file can be served
        location = /status {{
            alias {static_file};
            default_type "{content_type}";
            {file_headers}
        }}
    }}
"""


def _nginx_quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def wrk(url: str, seconds: int, script: str | None = None) -> tuple[float, float, int]:
    """(requests per second, p99 latency in ms, non-2xx/3xx responses)."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for name, value in REQUEST_HEADERS.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rps, p99, int(errors.group(1)) if errors else 0


def lookup_script(pairs: list[tuple[str, str]], path: str) -> str:
    """A wrk Lua script that POSTs the lookup form for each pair in turn, with one valid CSRF pair."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{PROJECT_PORT}/track/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookie = next(c.value for c in jar if c.name == "csrftoken")
    bodies = ",\n".join(
        f'"csrfmiddlewaretoken={token}&tracking_number={number}&phone_last4={digits}"' for number, digits in pairs
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f"""
    bodies = {{ {bodies} }}
    counter = 0
    request = function()
      counter = counter + 1
      local body = bodies[(counter % #bodies) + 1]
      return wrk.format("POST", "{path}", {{
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["Cookie"] = "csrftoken={cookie}",
        ["Referer"] = "http://127.0.0.1:{PROJECT_PORT}/track/",
      }}, body)
    end
    """
        )
    return script.name


@dataclass
class Comparison:
    """Our side against its yardstick, measured back to back each round so both see the same load.

    The machine is shared: the ratio of each round's pair, not of bests taken minutes apart.
    """

    name: str
    yardstick: tuple[str, str | None]
    ours: tuple[str, str | None]
    goal: float
    rounds: list[tuple[tuple[float, float, int], tuple[float, float, int]]] = field(default_factory=list)

    def measure(self, seconds: int, *, yardstick_first: bool) -> None:
        if yardstick_first:
            theirs = wrk(self.yardstick[0], seconds, self.yardstick[1])
            ours = wrk(self.ours[0], seconds, self.ours[1])
        else:
            ours = wrk(self.ours[0], seconds, self.ours[1])
            theirs = wrk(self.yardstick[0], seconds, self.yardstick[1])
        self.rounds.append((theirs, ours))

    def summary(self) -> str:
        ratios = sorted(ours[0] / theirs[0] for theirs, ours in self.rounds)
        best_theirs = max((theirs for theirs, _ours in self.rounds), key=lambda result: result[0])
        best_ours = max((ours for _theirs, ours in self.rounds), key=lambda result: result[0])
        errors = sum(ours[2] for _theirs, ours in self.rounds)
        return (
            f"{self.name:<14}{best_theirs[0]:>11.0f}{best_theirs[1]:>8.1f}{best_ours[0]:>9.0f}{best_ours[1]:>8.1f}"
            f"{errors:>8}  {statistics.median(ratios):.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f}), goal ≥ {self.goal}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers, the same for both apps")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each compares its pairs back to back")
    args = parser.parse_args()
    if not shutil.which("wrk") or not binary():
        raise SystemExit("wrk and nginx are needed: apt-get install wrk nginx-light")

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="status-load-")))
        workdir.chmod(0o755)  # nginx's workers run as nobody and read the files here
        # Every process that renders the status page writes its files here, as in production.
        scratch_django(SERVER_URL, REDIS_URL, STATUS_PUBLISH_DIR=str(workdir / "published"))
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        started = time.perf_counter()
        pairs = seed(args.orders)
        print(f"seeded demo data + {args.orders:,} orders in {time.perf_counter() - started:.0f} s")

        stack.enter_context(
            gunicorn("config.wsgi", PROJECT_PORT, args.workers, project_environment(workdir / "published"), "/")
        )
        answers = capture_answers(PAGES)
        (workdir / "answers.json").write_text(json.dumps(answers))
        static_file = workdir / "status.html.gz"
        static_file.write_bytes(base64.b64decode(answers["/"]["body"]))
        minimal_environment = {
            **os.environ,
            "BENCH_MINIMAL_RESPONSES": str(workdir / "answers.json"),
            "BENCH_DATABASE_NAME": SERVER_URL.rsplit("/", 1)[1],
        }
        stack.enter_context(
            gunicorn("bench.minimal_app:application", MINIMAL_PORT, args.workers, minimal_environment, "/")
        )
        config = main_config(workdir, PROJECT_PORT, nginx_servers(workdir, static_file, answers["/"]["headers"]))
        stack.enter_context(running(config, f"http://127.0.0.1:{FILE_PORT}/status"))
        project_lookup = lookup_script(pairs, "/track/")
        minimal_lookup = lookup_script(pairs, "/bench/lookup")
        stack.callback(os.unlink, project_lookup)
        stack.callback(os.unlink, minimal_lookup)

        project, minimal = f"http://127.0.0.1:{PROJECT_PORT}", f"http://127.0.0.1:{MINIMAL_PORT}"
        comparisons = [
            Comparison("status page", (minimal + "/", None), (project + "/", None), 0.95),
            Comparison(
                "summary.json", (minimal + "/api/v2/summary.json", None), (project + "/api/v2/summary.json", None), 0.95
            ),
            Comparison(
                "behind nginx",
                (f"http://127.0.0.1:{FILE_PORT}/status", None),
                (f"http://127.0.0.1:{CACHE_PORT}/", None),
                0.8,
            ),
            Comparison(
                "lookup", (minimal + "/bench/lookup", minimal_lookup), (project + "/track/", project_lookup), 0.5
            ),
        ]
        for round_number in range(args.rounds):
            for comparison in comparisons:
                comparison.measure(args.seconds, yardstick_first=round_number % 2 == 0)

    print(
        f"\ngunicorn sync × {args.workers} for both apps, wrk 2 threads × {CONNECTIONS} connections, "
        f"{args.rounds} rounds of {args.seconds} s runs, each pair back to back, {args.orders:,} orders"
    )
    print("yardstick: the minimal Django app (nginx: the same bytes from a file); req/s and p99 are the best round's")
    header = f"{'':<14}{'yardstick':>11}{'p99 ms':>8}{'ours':>9}{'p99 ms':>8}{'errors':>8}  ratio, median (range) of the rounds"
    print(header)
    for comparison in comparisons:
        print(comparison.summary())


if __name__ == "__main__":
    main()
