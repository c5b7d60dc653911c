"""Run a function in its own process on the quick-start configuration.

``bin/run`` without ``DATABASE_URL`` / ``REDIS_URL`` is the embedded SQLite database
and the filesystem broker under ``VAR_DIR``; the suite runs on PostgreSQL, so what
must also work on the quick start runs here: ``python -m tests.quickstart
module:function`` migrates the SQLite database in ``VAR_DIR``, calls the function and
prints what it returns as JSON on its last line of output.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATABASE_FILE = "db.sqlite3"
# What points bin/run at servers; without them it runs on its embedded defaults.
SERVER_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")


def environment(var_dir: Path) -> dict[str, str]:
    variables = {name: value for name, value in os.environ.items() if name not in SERVER_VARIABLES}
    # The test settings only hash passwords faster; the database, broker and cache are bin/run's.
    return {**variables, "VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "config.test_settings"}


def run(target: str, *, var_dir: Path, template: Path | None = None, timeout: float = 300) -> Any:
    """Call ``target`` (``module:function``) on a quick-start database in ``var_dir``,
    starting from a copy of the migrated ``template`` database when given."""
    var_dir.mkdir(parents=True, exist_ok=True)
    if template is not None:
        shutil.copyfile(template, var_dir / DATABASE_FILE)
    finished = subprocess.run(
        [sys.executable, "-m", "tests.quickstart", target],
        cwd=ROOT,
        env=environment(var_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if finished.returncode != 0:
        raise AssertionError(f"{target} failed on the quick-start configuration:\n{finished.stderr[-6000:]}")
    return json.loads(finished.stdout.splitlines()[-1])


def migrated() -> None:
    """Nothing but the migrations: a template database for ``run``."""


def system_check() -> list[str]:
    """What Django's system check warns about on this configuration, database checks included
    (a constraint SQLite cannot hold is left out of its schema with only a warning)."""
    from django.core import checks

    return [str(message) for message in checks.run_checks(databases=["default"]) if message.is_serious(checks.WARNING)]


def main(target: str) -> None:
    import django
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    django.setup()
    # Outgoing email stays in memory, and the test client's 500s carry their exception.
    setup_test_environment()
    call_command("migrate", verbosity=0)
    module, function = target.split(":")
    result = getattr(importlib.import_module(module), function)()
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
