"""nginx with the shipped ``deploy/nginx/parcel.conf``, for the benchmark and the tests.

TLS off and on a local port, the cache and the published files in a scratch directory,
everything else as shipped: the maps, the status page's file and its headers, the cache.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools.harness import ROOT, wait_until_answering

SHIPPED = ROOT / "deploy" / "nginx"


def binary() -> str | None:
    # Debian puts it in /usr/sbin, which is not on every PATH.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def shipped_server(workdir: Path, port: int, published: Path) -> str:
    """parcel.conf's maps, cache zone and HTTPS server, listening on ``port`` without TLS."""
    shipped = (SHIPPED / "parcel.conf").read_text()
    # The port-80 server only redirects to HTTPS; keep what precedes it and the HTTPS server.
    head, _redirect, secure = shipped.split("\nserver {", 2)
    replacements = [
        (r"listen 443 ssl http2;\n\s*listen \[::\]:443 ssl http2;", f"listen 127.0.0.1:{port};"),
        (r"\n\s*ssl_[a-z_]+ [^;]+;", ""),
        (r"/var/cache/nginx/parcel", str(workdir / "cache")),
        (r"/etc/nginx/parcel/", str(SHIPPED) + "/"),
        (r"/srv/parcel/var/published", str(published)),
    ]
    config = head + "\nserver {" + secure
    for pattern, replacement in replacements:
        config, count = re.subn(pattern, replacement, config)
        if not count:
            raise RuntimeError(f"deploy/nginx/parcel.conf changed: {pattern!r} not found; update devtools/nginx.py")
    return config


def main_config(workdir: Path, upstream_port: int, servers: str) -> Path:
    """An nginx.conf in ``workdir`` with ``servers`` in its http block and the app on ``upstream_port``."""
    path = workdir / "nginx.conf"
    path.write_text(f"""
worker_processes auto;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    # As Debian's /etc/nginx/nginx.conf, which includes the shipped files in production.
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    upstream parcel_web {{ server 127.0.0.1:{upstream_port} fail_timeout=0; keepalive 16; }}
    {servers}
}}
""")
    return path


@contextmanager
def running(config: Path, probe: str) -> Iterator[subprocess.Popen[bytes]]:
    """nginx on ``config`` until the block ends; ``probe`` answers (any status) once it is up."""
    executable = binary()
    if executable is None:
        raise RuntimeError("nginx is needed: apt-get install nginx-light")
    workdir = config.parent
    base = [executable, "-p", str(workdir), "-c", str(config), "-e", str(workdir / "error.log")]
    subprocess.run([*base, "-t", "-q"], check=True)
    server = subprocess.Popen([*base, "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        wait_until_answering(server, probe, "nginx")
        yield server
    finally:
        server.send_signal(signal.SIGQUIT)  # not kill: the master would leave its workers behind
        server.wait(timeout=30)
