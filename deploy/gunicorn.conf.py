"""Gunicorn for the web process (systemd and Docker Compose both start it with this file).

    gunicorn -c deploy/gunicorn.conf.py config.wsgi

Sync workers: every request is short (the slow work is Celery's), and a sync
worker that hangs is killed by ``timeout`` instead of starving its neighbours.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# 2 × cores + 1 is gunicorn's own rule of thumb for sync workers.
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1) + 1)))
worker_class = "sync"
# nginx gives up at 60 s (proxy_read_timeout); a worker still busy after 30 s is
# stuck, and its replacement serves the next request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never becomes an outage; the jitter
# keeps them from restarting together.
max_requests = 2000
max_requests_jitter = 200
# Load the app once in the master: faster restarts, shared memory pages, and a
# broken settings file stops the deploy at start instead of in every worker.
preload_app = True
# Only nginx on this host (or the Compose network) may set X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# The request id goes into the access log so a line can be matched with the app's.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
# Nginx buffers slow clients; this caps what a single header may cost a worker.
limit_request_line = 8190

# Request metrics from several worker processes: prometheus_client writes them to
# files in this directory and /metrics adds them up (see core/metrics.py and ops/metrics.py).
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server: object) -> None:
    # Files left from the previous run would add old counts to the new ones.
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
        Path(_metrics_dir).mkdir(parents=True, exist_ok=True)


def child_exit(server: object, worker: object) -> None:
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]  # gunicorn ships no types: its Worker has pid
