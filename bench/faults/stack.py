"""A private PostgreSQL cluster, Redis server, Celery worker and gunicorn for the fault suite.

Everything runs on its own ports from a temporary directory, so stopping or
crashing it never touches the shared 127.0.0.1:5432 / :6379 other people's tests
use. PostgreSQL refuses to run as root: as root the cluster is run as the
``postgres`` system user (``runuser``); as anyone else, as yourself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools.harness import free_port, wait_for_port, worker_command

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PrivatePostgres:
    def __init__(self, directory: Path) -> None:
        self.directory = directory / "pg"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/parcel_fault"

    def _ctl(self, *arguments: str) -> None:
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "pg_ctl"), "-D", str(self.directory), "-w", "-t", "60", *arguments]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def create(self) -> PrivatePostgres:
        self.directory.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            shutil.chown(self.directory.parent, "postgres", "postgres")
        subprocess.run(
            _as_postgres_user(
                [str(PG_BIN / "initdb"), "-D", str(self.directory), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with (self.directory / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.directory}'\n"
                "max_connections = 60\nshared_buffers = 128MB\n"
            )
        self.start()
        import psycopg

        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE parcel_fault")
        return self

    def start(self) -> None:
        self._ctl("-l", str(self.directory / "server.log"), "start")

    def crash(self) -> None:
        """Stop without a clean shutdown (as a power cut or a killed postmaster): recovery on start."""
        self._ctl("-m", "immediate", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("-m", "immediate", "stop")


class PrivateRedis:
    """Redis with the production persistence (append-only file, fsync every second)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "redis"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def crash(self) -> None:
        """SIGKILL: what the broker loses is at most the last second not yet fsynced."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def destroy(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_worker(environment: dict[str, str], queue: str, log: Path) -> subprocess.Popen[bytes]:
    """A prefork worker as deploy/ starts it (concurrency 2: the machine has 2 cores), with
    the retry backoff compressed (``bench.faults.worker``)."""
    return subprocess.Popen(
        worker_command(concurrency=2, queue=queue, loglevel="WARNING", module="bench.faults.worker"),
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_beat(environment: dict[str, str], directory: Path, log: Path) -> subprocess.Popen[bytes]:
    """Exactly one beat: the heartbeat /healthz reads, and the production schedule."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(directory / "celerybeat-schedule"),
        ],
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_web(environment: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """gunicorn with the production config file (two sync workers)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env={**environment, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(port)
    return process


def scratch_directory() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="parcel-faults-"))
    directory.chmod(0o755)
    return directory
