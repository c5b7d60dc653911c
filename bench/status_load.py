"""The status page under outage traffic: gunicorn, 64 connections, beside the framework's ceiling.

Starts gunicorn (the production server) on a scratch database with the demo
data and, by default, 1,000,000 orders; drives it with wrk at 64 concurrent
connections and prints requests per second and p99 latency of

- a constant view through the same middleware (the best this server can do),
- the status page ``/`` and ``/api/v2/summary.json`` (served from the published cache),
- the parcel lookup ``POST /track/`` with right digits for random parcels among the 1M,

and the ratio status/constant (target ≥ 0.8). wrk runs on the same machine, so
both sides share the cores the same way.

    .venv/bin/python bench/status_load.py                  # 1M orders, 10 s per run
    .venv/bin/python bench/status_load.py --orders 100000 --seconds 5

Needs wrk (Debian: apt-get install wrk) and a local PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/parcel_bench_portal")

from _scratch import ROOT, SERVER_URL, setup_django_on_scratch_database

PORT = 8799
BASE = f"http://127.0.0.1:{PORT}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
CONNECTIONS = 64


def seed(orders: int) -> list[tuple[str, str]]:
    """Demo data plus ``orders`` parcels; returns (tracking number, last 4 digits) of 2,000 random ones."""
    from django.core.management import call_command
    from django.db import connection

    call_command("seed_demo", verbosity=0)
    if orders:
        call_command("seed_demo", orders=orders, prefix="BN")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE orders_order")
        cursor.execute("VACUUM ANALYZE customers_customer")
        cursor.execute(
            "SELECT o.tracking_number, right(c.phone, 4) FROM orders_order o TABLESAMPLE SYSTEM (1)"
            " JOIN customers_customer c ON c.id = o.customer_id LIMIT 2000"
        )
        return cursor.fetchall()


def _fetch(path: str) -> bytes:
    return urllib.request.urlopen(BASE + path, timeout=5).read()  # noqa: S310 - our own local server


def start_server(workers: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": SERVER_URL,
        "REDIS_URL": REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "LOOKUPS_PER_IP": "1000000000",
        "LOOKUPS_PER_TRACKING_NUMBER": "1000000000",
    }
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{PORT}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "5",
        "--backlog",
        "2048",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            _fetch("/bench/constant")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start: " + server.stderr.read().decode()[-2000:])


def wrk(path: str, seconds: int, script: str | None = None) -> tuple[float, float, int]:
    """(requests per second, p99 latency in ms, non-2xx/3xx responses)."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-H", "Accept-Language: zh-CN"]
    command += ["-H", "Accept-Encoding: gzip"]  # as browsers send it
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, BASE + path], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rps, p99, int(errors.group(1)) if errors else 0


def lookup_script(pairs: list[tuple[str, str]]) -> str:
    """A wrk Lua script that POSTs the lookup form for each pair in turn, with one valid CSRF pair."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{BASE}/track/").read().decode()
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
      return wrk.format("POST", "/track/", {{
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["Cookie"] = "csrftoken={cookie}",
        ["Referer"] = "{BASE}/track/",
      }}, body)
    end
    """
        )
    return script.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best of each is reported")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    setup_django_on_scratch_database()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    started = time.perf_counter()
    pairs = seed(args.orders)
    print(f"seeded demo data + {args.orders:,} orders in {time.perf_counter() - started:.0f} s")
    server = start_server(args.workers, args.threads)
    script = lookup_script(pairs)
    try:
        for path in ("/", "/api/v2/summary.json"):
            _fetch(path)  # warm the published cache
        targets = {
            "constant": "/bench/constant",
            "status page": "/",
            "summary.json": "/api/v2/summary.json",
        }
        best: dict[str, tuple[float, float, int]] = {}
        for _round in range(args.rounds):
            for name, path in targets.items():
                result = wrk(path, args.seconds)
                if name not in best or result[0] > best[name][0]:
                    best[name] = result
        lookup = wrk("/track/", args.seconds, script)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        os.unlink(script)

    print(
        f"\ngunicorn gthread {args.workers}×{args.threads}, wrk 2 threads × {CONNECTIONS} connections, "
        f"{args.seconds} s runs, best of {args.rounds}"
    )
    print(f"{'endpoint':<16}{'req/s':>10}{'p99 ms':>10}{'errors':>8}{'vs constant':>13}")
    ceiling = best["constant"][0]
    for name, (rps, p99, errors) in best.items():
        print(f"{name:<16}{rps:>10.0f}{p99:>10.1f}{errors:>8}{rps / ceiling:>13.2f}")
    rps, p99, errors = lookup
    print(f"{'lookup (POST)':<16}{rps:>10.0f}{p99:>10.1f}{errors:>8}{'':>13}  ({args.orders:,} orders)")


if __name__ == "__main__":
    main()
