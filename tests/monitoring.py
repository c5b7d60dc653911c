"""Test helpers: the payload fixtures monitoring systems really send, and posting them as sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ALERTMANAGER_URL = "/api/v1/alerts/alertmanager/"
GRAFANA_URL = "/api/v1/alerts/grafana/"
GENERIC_URL = "/api/v1/alerts/"


def fixture_body(name: str) -> bytes:
    """The file's bytes, as the sender put them on the wire (``alertmanager/firing.json``)."""
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads(fixture_body(name))


def post_body(client: Any, url: str, body: bytes | dict[str, Any], **extra: Any) -> Any:
    """POST a payload as the sender does: a JSON body, with no help from the test client."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("POST", url, raw, content_type="application/json", **extra)
