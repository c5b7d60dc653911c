"""Anonymous reads of the status page, its JSON and its feed are answered before the middleware
stack, with the very bytes the full path gives; everyone else takes the full path."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client
from prometheus_client import REGISTRY

from core import roles
from incidents.services import incident_post_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FAST_PATH = "portal.middleware.PublishedRenderingMiddleware"
REQUEST_ID = "identity-check-0001"


def _took_the_fast_path(response) -> bool:
    # Session and authentication middleware leave their mark on every request they see.
    return not hasattr(response.wsgi_request, "session") and not hasattr(response.wsgi_request, "user")


def _exchange(response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, list(response.items()), response.content


def _full_path(settings) -> None:
    settings.MIDDLEWARE = [path for path in django_settings.MIDDLEWARE if path != FAST_PATH]


CASES = {
    "status page": ("get", "/", {}),
    "status page, gzip": ("get", "/", {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}),
    "status page, English by browser": ("get", "/", {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}),
    "status page, English by cookie": ("get", "/", {"HTTP_COOKIE": "django_language=en; _ga=GA1.2.3"}),
    "status page, HEAD": ("head", "/", {}),
    "summary.json": ("get", "/api/v2/summary.json", {"HTTP_ACCEPT_ENCODING": "gzip"}),
    "unresolved incidents": ("get", "/api/v2/incidents/unresolved.json", {"HTTP_ACCEPT_LANGUAGE": "en"}),
    "feed": ("get", "/history.atom", {}),
    "over HTTPS": ("get", "/", {"secure": True}),
}


@pytest.mark.parametrize("case", CASES)
def test_an_anonymous_read_is_byte_identical_to_the_full_path(client, settings, hub_outage, case):
    method, path, headers = CASES[case]
    request = getattr(client, method)
    request(path, **headers)  # the first of its kind takes the full path and is kept

    fast = request(path, HTTP_X_REQUEST_ID=REQUEST_ID, **headers)
    _full_path(settings)
    full = getattr(Client(), method)(path, HTTP_X_REQUEST_ID=REQUEST_ID, **headers)

    assert _took_the_fast_path(fast)
    assert not _took_the_fast_path(full)
    assert _exchange(fast) == _exchange(full)
    assert fast.status_code == 200
    assert "Content-Security-Policy" in fast
    assert "X-Content-Type-Options" in fast


@pytest.mark.parametrize("validator", ["ETag", "Last-Modified"])
def test_a_revalidation_gets_the_same_304_as_the_full_path(client, settings, hub_outage, validator):
    first = client.get("/")
    header = {"ETag": "HTTP_IF_NONE_MATCH", "Last-Modified": "HTTP_IF_MODIFIED_SINCE"}[validator]
    client.get("/", **{header: first[validator]})

    fast = client.get("/", HTTP_X_REQUEST_ID=REQUEST_ID, **{header: first[validator]})
    _full_path(settings)
    full = Client().get("/", HTTP_X_REQUEST_ID=REQUEST_ID, **{header: first[validator]})

    assert _took_the_fast_path(fast)
    assert fast.status_code == 304
    assert _exchange(fast) == _exchange(full)


def test_the_json_carries_cors_and_the_language_on_the_fast_path(client, hub_outage):
    client.get("/api/v2/summary.json", HTTP_ACCEPT_LANGUAGE="en")

    english = client.get("/api/v2/summary.json", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get("/api/v2/summary.json")

    assert _took_the_fast_path(english)
    assert english["Access-Control-Allow-Origin"] == "*"
    assert english["Content-Language"] == "en"
    assert english.json()["incidents"][0]["name"] == "Typhoon"
    assert chinese["Content-Language"] == "zh-hans"


def test_each_answer_has_its_own_request_id(client, hub_outage):
    client.get("/")

    first, second = client.get("/"), client.get("/")

    assert _took_the_fast_path(first)
    assert _took_the_fast_path(second)
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert len(first["X-Request-ID"]) == 32


def test_signed_in_staff_take_the_full_path(client, hub_outage):
    client.force_login(UserFactory(role=roles.INCIDENT_MANAGER, is_staff=True))
    client.get("/")

    response = client.get("/")

    assert response.status_code == 200
    assert response.wsgi_request.user.is_staff


@pytest.mark.django_db(transaction=True)
def test_a_new_rendering_is_answered_at_once(client, hub_outage):
    client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    before = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    incident_post_update(
        incident_id=hub_outage.pk,
        actor=UserFactory(role=roles.INCIDENT_MANAGER),
        body_zh="包裹改由深圳中转。",
        body_en="Parcels go via Shenzhen.",
    )
    after = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert _took_the_fast_path(before)
    assert "Parcels go via Shenzhen." not in before.content.decode()
    assert "Parcels go via Shenzhen." in after.content.decode()
    assert after["ETag"] != before["ETag"]


def test_fast_answers_are_counted_in_the_latency_metric(client, hub_outage):
    def count() -> float:
        labels = {"method": "GET", "route": "", "status": "2xx"}
        return REGISTRY.get_sample_value("parcel_http_request_duration_seconds_count", labels) or 0.0

    client.get("/")
    before = count()

    responses = [client.get("/") for _ in range(3)]

    assert all(_took_the_fast_path(response) for response in responses)
    assert count() == before + 3


def test_a_host_we_do_not_serve_is_refused_every_time(client, hub_outage):
    answers = [client.get("/", HTTP_HOST="status.example.net").status_code for _ in range(2)]

    assert answers == [400, 400]


def test_an_answer_that_sets_a_cookie_is_never_replayed(client, hub_outage):
    # A malformed CSRF cookie makes the full path send a fresh one: that answer is this client's alone.
    answers = [client.get("/", HTTP_COOKIE="csrftoken=malformed") for _ in range(2)]

    assert [_took_the_fast_path(answer) for answer in answers] == [False, False]
    assert all("csrftoken" in answer.cookies for answer in answers)


def test_writes_and_other_pages_take_the_full_path(client, hub_outage):
    client.get("/")

    assert client.post("/").status_code == 405
    assert not _took_the_fast_path(client.get("/history/"))
