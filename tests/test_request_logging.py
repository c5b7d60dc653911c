from __future__ import annotations

import json
import logging

import pytest

from core.logging import JsonFormatter, RequestIdFilter, request_id_var

pytestmark = pytest.mark.django_db


def test_every_response_carries_a_request_id(client):
    response = client.get("/")

    assert len(response["X-Request-ID"]) == 32


def test_a_proxys_request_id_is_kept(client):
    response = client.get("/", HTTP_X_REQUEST_ID="nginx-4f2a9c11")

    assert response["X-Request-ID"] == "nginx-4f2a9c11"


def test_a_request_id_that_is_not_an_id_is_replaced(client):
    response = client.get("/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")

    assert response["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(response["X-Request-ID"]) == 32


def test_json_log_line_is_one_event_with_request_id_and_extra_fields():
    record = logging.makeLogRecord(
        {"name": "orders", "levelname": "INFO", "msg": "batch %s", "args": ("ok",), "rows": 3}
    )
    token = request_id_var.set("req-123456")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)

    line = JsonFormatter().format(record)

    assert "\n" not in line
    event = json.loads(line)
    assert (event["message"], event["request_id"], event["rows"], event["logger"]) == (
        "batch ok",
        "req-123456",
        3,
        "orders",
    )


def test_log_written_during_a_request_carries_its_id(client, caplog):
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())

    response = client.post("/api/v1/orders/batch/", {}, content_type="application/json")

    request_ids = {getattr(record, "request_id", None) for record in caplog.records}
    assert response["X-Request-ID"] in request_ids
