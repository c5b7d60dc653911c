"""The deployment files pass their tools' own checks (deploy/check skips a tool that is not installed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_deployment_files_pass_their_checkers():
    result = subprocess.run([ROOT / "deploy" / "check"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gunicorn" in result.stdout
