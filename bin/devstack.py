"""Run the web server, a Celery worker and Celery beat as one foreground program.

Each line a process prints is prefixed with its name. Ctrl-C (or SIGTERM) stops
all three; if one of them dies, the others are stopped too and the exit code says
which one failed, so a broken worker is never left unnoticed behind a working site.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Celery finishes running tasks on SIGTERM; a warm shutdown takes a few seconds.
GRACE_SECONDS = 20


def commands(host: str, port: str) -> dict[str, list[str]]:
    celery = [PYTHON, "-m", "celery", "-A", "config"]
    return {
        "web": [PYTHON, "manage.py", "runserver", f"{host}:{port}"],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", os.environ.get("WORKER_CONCURRENCY", "2")],
        "beat": [*celery, "beat", "--loglevel", "INFO"],
    }


def relay(name: str, stream: IO[str]) -> None:
    for line in stream:
        sys.stdout.write(f"{name:>6} | {line}")
        sys.stdout.flush()


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes: dict[str, subprocess.Popen[str]] = {}
    for name, command in commands(host, port).items():
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own process group: we decide when children stop, not the terminal.
            start_new_session=True,
        )
        processes[name] = process
        threading.Thread(target=relay, args=(name, process.stdout), daemon=True).start()

    base = f"http://{host}:{port}"
    print(
        f"\n  Portal   {base}/\n  Admin    {base}/admin/\n  API docs {base}/api/v1/docs/\n"
        f"  Health   {base}/healthz\n  Ctrl-C stops the web server, worker and beat.\n",
        flush=True,
    )

    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    failed = None
    while not stopping.is_set():
        for name, process in processes.items():
            if process.poll() is not None:
                failed = name
                stopping.set()
                break
        stopping.wait(0.5)

    if failed:
        print(f"\n{failed} exited with code {processes[failed].returncode}; stopping the others.", flush=True)
    else:
        print("\nStopping web, worker and beat …", flush=True)
    for process in processes.values():
        if process.poll() is None:
            # The process itself, not its group: Celery stops its own pool children.
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    print("All stopped.", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
