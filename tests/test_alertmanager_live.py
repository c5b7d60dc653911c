"""Prometheus Alertmanager's own binary (Debian's ``prometheus-alertmanager``) delivering to a live
server through the ``webhook_configs`` receiver the README gives, and the status page following."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from django.utils import timezone

from components.models import ComponentStatus
from incidents.models import Incident
from monitoring.models import AlertReceipt, AlertSource, Outcome
from tests.factories import AlertRuleFactory, ServiceComponentFactory

ALERTMANAGER = os.environ.get("ALERTMANAGER_PATH", "/usr/bin/prometheus-alertmanager")
README = Path(__file__).resolve().parent.parent / "README.md"
ALERT = {
    "labels": {"alertname": "TrackingApiDown", "component": "tracking-api", "severity": "critical"},
    "annotations": {"summary": "Tracking API is not answering"},
    "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up%3D%3D0",
}


def readme_receiver() -> dict:
    """The receiver of the README's ``webhook_configs`` snippet, as an operator would paste it."""
    block = next(
        block for block in re.findall(r"```yaml\n(.*?)```", README.read_text(), re.DOTALL) if "webhook_configs" in block
    )
    return yaml.safe_load(block)["receivers"][0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _http(method: str, url: str, body: object | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    # Our own local servers (the live server, Alertmanager): http:// only.
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return response.status, response.read()


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} within {timeout} s; Alertmanager's log:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture
def alertmanager(live_server, monitoring_token, tmp_path) -> Iterator[tuple[str, Path]]:
    """Alertmanager with the README's receiver pointed at the live server, grouping fast for a test."""
    token_file = tmp_path / "parcel-token"
    token_file.write_text(monitoring_token)
    receiver = readme_receiver()
    webhook = receiver["webhook_configs"][0]
    webhook["url"] = live_server.url + "/api/v1/alerts/alertmanager/"
    webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    config = {
        "route": {
            "receiver": receiver["name"],
            "group_by": ["component"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [receiver],
    }
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port, log = _free_port(), tmp_path / "alertmanager.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={tmp_path / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no HA gossip port
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _ready(base), timeout=30, what="Alertmanager ready", log=log)
        yield base, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _ready(base: str) -> bool:
    try:
        return _http("GET", base + "/-/ready")[0] == 200
    except OSError:
        return False


def _status(live_server, component) -> str:
    document = json.loads(_http("GET", live_server.url + "/api/v2/components.json")[1])
    return next(item["status"] for item in document["components"] if item["id"] == str(component.pk))


def _until_status(live_server, component, status: str, log: Path) -> float:
    """Seconds until the published status page shows ``component`` in ``status``."""
    return _wait_for(
        lambda: _status(live_server, component) == status, timeout=30, what=f"the status page at {status}", log=log
    )


@pytest.mark.django_db(transaction=True)
def test_alertmanager_delivers_a_firing_alert_to_the_status_page_and_then_its_resolution(alertmanager, live_server):
    # given a component, a rule for its alerts, and Alertmanager configured with the README's receiver
    base, log = alertmanager
    component = ServiceComponentFactory(name_zh="运单查询接口", name_en="Tracking API")
    AlertRuleFactory(component=component)
    assert _status(live_server, component) == ComponentStatus.OPERATIONAL

    # when Prometheus (here: the test) sends Alertmanager a firing alert
    assert _http("POST", base + "/api/v2/alerts", [ALERT])[0] == 200
    fired_in = _until_status(live_server, component, ComponentStatus.MAJOR_OUTAGE, log)

    # then the status page shows the outage within seconds, and a draft waits for a person
    assert fired_in < 15
    incident = Incident.objects.get()
    assert incident.published_at is None
    receipt = AlertReceipt.objects.get()
    assert (receipt.alert.source, receipt.outcome, receipt.receiver) == (
        AlertSource.ALERTMANAGER,
        Outcome.APPLIED,
        "parcel-status",
    )

    # and when the alert ends, Alertmanager's resolved notification gives the component back
    assert _http("POST", base + "/api/v2/alerts", [ALERT | {"endsAt": timezone.now().isoformat()}])[0] == 200
    resolved_in = _until_status(live_server, component, ComponentStatus.OPERATIONAL, log)
    assert resolved_in < 15
    incident.refresh_from_db()
    assert incident.is_open  # monitoring suggests; a person resolves
    print(f"alertmanager → status page: firing {fired_in:.2f} s, resolved {resolved_in:.2f} s")
