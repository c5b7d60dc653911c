"""The yardstick for bench/status_load.py: the least a Django app can do for the same answers.

No apps, no middleware, a URLconf of constant views: each answers the bytes and
headers our server gave for the same request (read from the JSON file named by
``BENCH_MINIMAL_RESPONSES``), and ``/bench/lookup`` runs one indexed query on
the orders table for the posted tracking number. Served by gunicorn with the
same flags as the project:

    gunicorn bench.minimal_app:application
"""

from __future__ import annotations

import base64
import json
import os

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    SECRET_KEY="bench-only-minimal-app-" + "x" * 40,
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("BENCH_DATABASE_NAME", "parcel_bench_portal"),
            "HOST": "127.0.0.1",
            "USER": "postgres",
            # Kept connections, as the project's. No health-check ping: the best a one-query view
            # can do is one round trip, and the project's lookup sends no ping either.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": False,
            "OPTIONS": {"prepare_threshold": 5},  # psycopg's default, which Django turns off
        }
    },
    USE_TZ=True,
)
django.setup()

import psycopg  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def _constant(status: int, headers: list[tuple[str, str]], body: bytes):  # type: ignore[no-untyped-def]
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(body, status=status, headers=headers)

    return view


def lookup(request: HttpRequest) -> HttpResponse:
    """The best a Django view does with one indexed query: on the kept connection, bound on the
    server and prepared once (PostgreSQL plans it once per connection), psycopg's cursor
    without Django's wrapper."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            "SELECT tracking_number, status, promised_delivery FROM orders_order WHERE tracking_number = %s",
            [request.POST.get("tracking_number", "")],
            prepare=True,
        )
        row = cursor.fetchone()
    return HttpResponse(repr(row).encode(), content_type="text/plain")


def _patterns() -> list:  # type: ignore[type-arg]
    with open(os.environ["BENCH_MINIMAL_RESPONSES"], encoding="utf-8") as file:
        answers = json.load(file)
    patterns = [path("bench/lookup", lookup)]
    for url, answer in answers.items():
        view = _constant(answer["status"], answer["headers"], base64.b64decode(answer["body"]))
        patterns.append(path(url.lstrip("/"), view))
    return patterns


urlpatterns = _patterns()
application = get_wsgi_application()
