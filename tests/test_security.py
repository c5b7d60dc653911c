"""Admin sign-in throttle, the client address behind the proxy, security headers,
CSRF on every form, and secrets kept out of the logs."""

from __future__ import annotations

import pytest
from django.test import Client

from core import roles
from core.ratelimit import LOGIN_FAILURES_PER_USER
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def _sign_in(client: Client, username: str, password: str, **extra: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, **extra)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_sign_in_pauses_after_repeated_failures_even_for_the_right_password():
    user = UserFactory(role=roles.CUSTOMER_SERVICE_AGENT)
    client = Client()
    for _ in range(LOGIN_FAILURES_PER_USER):
        assert _sign_in(client, user.username, "wrong").status_code == 200

    response = _sign_in(client, user.username, PASSWORD, HTTP_ACCEPT_LANGUAGE="en")

    assert not _signed_in(client)
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_throttle_message_is_chinese_by_default():
    user = UserFactory()
    client = Client()
    for _ in range(LOGIN_FAILURES_PER_USER):
        _sign_in(client, user.username, "wrong")

    assert "登录失败次数过多" in _sign_in(client, user.username, PASSWORD).content.decode()


def test_a_success_before_the_limit_clears_the_failures():
    user = UserFactory()
    client = Client()
    for _ in range(LOGIN_FAILURES_PER_USER - 1):
        _sign_in(client, user.username, "wrong")
    _sign_in(client, user.username, PASSWORD)
    client.logout()
    for _ in range(LOGIN_FAILURES_PER_USER - 1):
        _sign_in(client, user.username, "wrong")

    _sign_in(client, user.username, PASSWORD)

    assert _signed_in(client)


def test_throttle_counts_the_client_behind_the_proxy_not_the_proxy(settings):
    settings.TRUSTED_PROXY_IPS = ["127.0.0.1"]
    user = UserFactory()
    attacker, colleague = Client(REMOTE_ADDR="127.0.0.1"), Client(REMOTE_ADDR="127.0.0.1")
    for _ in range(LOGIN_FAILURES_PER_USER):
        _sign_in(attacker, user.username, "wrong", HTTP_X_REAL_IP="203.0.113.9")

    _sign_in(colleague, user.username, PASSWORD, HTTP_X_REAL_IP="198.51.100.20")

    assert _signed_in(colleague)


def test_a_trusted_proxy_network_covers_its_addresses(settings):
    settings.TRUSTED_PROXY_IPS = ["172.28.0.0/16"]
    user = UserFactory()
    attacker, colleague = Client(REMOTE_ADDR="172.28.0.5"), Client(REMOTE_ADDR="172.28.0.5")
    for _ in range(LOGIN_FAILURES_PER_USER):
        _sign_in(attacker, user.username, "wrong", HTTP_X_REAL_IP="203.0.113.9")

    _sign_in(colleague, user.username, PASSWORD, HTTP_X_REAL_IP="198.51.100.20")

    assert _signed_in(colleague)


def test_x_real_ip_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXY_IPS = ["10.0.0.1"]
    user = UserFactory()
    client = Client(REMOTE_ADDR="192.0.2.50")
    for attempt in range(LOGIN_FAILURES_PER_USER):
        # A new made-up address every time would dodge the limit if it were believed.
        _sign_in(client, user.username, "wrong", HTTP_X_REAL_IP=f"203.0.113.{attempt + 1}")

    _sign_in(client, user.username, PASSWORD, HTTP_X_REAL_IP="203.0.113.200")

    assert not _signed_in(client)


def test_a_malformed_trusted_proxy_stops_start_up():
    from tests.test_settings_production import load_settings

    result = load_settings({"TRUSTED_PROXY_IPS": "127.0.0.1,nginx"})

    assert result.returncode != 0
    assert "TRUSTED_PROXY_IPS must list addresses or networks, got 'nginx'" in result.stderr


@pytest.mark.parametrize("url", ["/", "/track/", "/admin/login/", "/healthz"])
def test_pages_carry_the_security_headers(client, url):
    response = client.get(url)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


# --- CSRF on every form -----------------------------------------------------------------------

# Views that take POSTs without a CSRF token, and what guards them instead.
CSRF_EXEMPT = {
    "unsubscribe/<str:token>/": "mail clients' one-click unsubscribe (RFC 8058); the signed token is the guard",
    "subscribe/cancel/<str:token>/": "status notices' one-click unsubscribe (RFC 8058); the signed token is the guard",
    "webhooks/twilio/status": "Twilio cannot send a token; X-Twilio-Signature is checked",
    "webhooks/twilio/inbound": "as above",
    "webhooks/email/<str:provider>/tracking/": "email providers cannot send a token; basic auth is checked (Anymail)",
}


def _routes():
    from django.urls import URLPattern, URLResolver, get_resolver
    from django.urls.resolvers import RoutePattern

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and isinstance(pattern.pattern, RoutePattern):
                yield prefix + str(pattern.pattern), pattern

    return list(walk(get_resolver().url_patterns))


def test_every_post_without_a_csrf_token_is_refused():
    """Signed in as a superuser (a session cookie, the thing CSRF abuses), POST to
    every URL — site, portal, admin and API — without a token: refused before any view runs."""
    import re

    from django.urls import resolve

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(is_superuser=True))
    accepted = []
    for route, pattern in _routes():
        if route in CSRF_EXEMPT:
            continue
        url = "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)
        assert resolve(url).func == pattern.callback, f"{url} does not reach {route}"
        response = client.post(url, {"anything": "x"})
        if response.status_code != 403:
            accepted.append(f"{route}: {response.status_code}")
    assert not accepted, "POST without a CSRF token was not refused:\n" + "\n".join(accepted)


def test_csrf_exempt_views_are_the_listed_ones():
    exempt = {route for route, pattern in _routes() if getattr(pattern.callback, "csrf_exempt", False)}
    # DRF's views are exempt at Django's level and enforce CSRF themselves for
    # session sign-ins (the test above shows it); the rest must be in the list.
    exempt = {route for route in exempt if not route.startswith("api/")}
    assert exempt == set(CSRF_EXEMPT)


# --- secrets stay out of the logs ---------------------------------------------------------------


def test_secrets_and_phone_numbers_stay_out_of_the_logs(providers, settings, caplog):
    from django.conf import settings as django_settings

    from core.logging import JsonFormatter, KeyValueFormatter, RequestIdFilter
    from devtools.fake_twilio import Reply
    from incidents.criteria import LinkCriteria
    from incidents.linking import incident_link_orders
    from notifications.models import Notification
    from notifications.sending import notifications_send
    from tests.conftest import TWILIO_TEST_TOKEN
    from tests.factories import CustomerFactory, OrderFactory, declare_incident

    twilio, _smtp = providers
    phone, email, password = "+447700900777", "li.lei@example.com", "Sup3r-Secret-Passw0rd"
    customer = CustomerFactory(phone=phone, email=email)
    manager = UserFactory(role=roles.INCIDENT_MANAGER)
    incident = declare_incident(actor=manager)
    order = OrderFactory(customer=customer, hub="广州白云转运中心")
    caplog.set_level("INFO")

    incident_link_orders(incident=incident, criteria=LinkCriteria(hubs=["广州白云转运中心"]), actor=manager)
    twilio.script(phone, Reply(status=500, code=20500))
    ids = list(Notification.objects.filter(customer=customer).values_list("pk", flat=True))
    Notification.objects.filter(pk__in=ids).update(next_attempt_at=incident.reported_at)
    notifications_send(ids=ids)  # the SMS fails (retry logged), the email goes
    client = Client()
    _sign_in(client, manager.username, password)
    client.post("/track/", {"tracking_number": order.tracking_number, "phone_last4": phone[-4:]})
    client.post("/webhooks/twilio/status", {"MessageSid": "SMx", "MessageStatus": "delivered", "To": phone})
    client.post("/webhooks/twilio/inbound", {"From": phone, "Body": "STOP"})

    assert caplog.records, "nothing was logged: the test would prove nothing"
    filter_ = RequestIdFilter()
    lines = []
    for record in caplog.records:
        filter_.filter(record)
        lines += [JsonFormatter().format(record), KeyValueFormatter().format(record)]
    text = "\n".join(lines)
    for secret in (django_settings.SECRET_KEY, TWILIO_TEST_TOKEN, password, phone, phone[1:], email):
        assert secret not in text, f"{secret!r} appears in the logs"
