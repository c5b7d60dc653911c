"""nginx sends the status page from the files every rebuild writes (STATUS_PUBLISH_DIR), in the
language Django would pick and with the app's headers; anything it cannot tell goes to the app.

The nginx tests run the real nginx with the shipped deploy/nginx/parcel.conf (TLS off) in front
of the test server.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.models import ServiceComponent
from devtools.harness import free_port
from devtools.nginx import SHIPPED, main_config, running, shipped_server
from portal import published
from tests.test_settings_production import load_settings

# Committed data: the test server (nginx's upstream) runs in another thread.
pytestmark = pytest.mark.django_db(transaction=True)

# What the two sides may differ in: the connection, the validators nginx makes for a file, the
# request id (the app never sees a request nginx answered) and when the app rendered it.
NOT_COMPARED = {
    "date",
    "server",
    "connection",
    "accept-ranges",
    "etag",
    "last-modified",
    "x-request-id",
    "x-status-generated-at",
    "x-cache-status",
    "strict-transport-security",
}
COOKIES = [
    None,
    "django_language=en",
    "django_language=zh-hans",
    "csrftoken=abc123; django_language=en",
    "django_language = en",
    "django_language=fr",
    "django_language=EN",
    'django_language="en"',
    "django_language=en; django_language=zh-hans",
    "_ga=GA1.2.3",
    "sessionid=not-a-session",
]
ACCEPT_LANGUAGES = [
    None,
    "zh-CN",
    "zh-TW,zh;q=0.9",
    "en",
    "EN-us",
    "en-GB,en;q=0.9",
    "en-US,en;q=0.9,zh-CN;q=0.8",
    "zh-CN,zh;q=0.9,en;q=0.8",
    "zh-CN;q=0.5,en",
    "en;q=0.1,zh-CN",
    "fr",
    "fr,en;q=0.5",
    "en,!!",
    "en-US,",
    "*",
    "en-abcdefghij",
    "en" + " ,fr" * 130,  # past the 500 characters Django reads: cut at a comma, the rest unreadable
]


@pytest.fixture
def scratch() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are private to root, and nginx's workers run as nobody.
    with tempfile.TemporaryDirectory(prefix="nginx-status-") as directory:
        path = Path(directory)
        path.chmod(0o755)
        yield path


@pytest.fixture
def published_dir(settings, scratch) -> Path:
    settings.STATUS_PUBLISH_DIR = str(scratch / "published")
    return scratch / "published"


@pytest.fixture
def nginx(live_server, scratch, published_dir) -> Iterator[str]:
    port = free_port()
    workdir = scratch / "nginx"
    workdir.mkdir()
    upstream = int(live_server.url.rsplit(":", 1)[1])
    config = main_config(workdir, upstream, shipped_server(workdir, port, published_dir))
    with running(config, f"http://127.0.0.1:{port}/"):
        yield f"http://127.0.0.1:{port}"


def _fetch(url: str, *, method: str = "GET", **headers: str | None) -> tuple[int, dict[str, str], bytes]:
    sent = {name.replace("_", "-"): value for name, value in headers.items() if value is not None}
    request = urllib.request.Request(url, headers=sent, method=method)  # noqa: S310 - local servers
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local servers
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def _from_the_file(headers: dict[str, str]) -> bool:
    return "x-request-id" not in headers  # every answer of the app carries one


def test_every_visitor_gets_the_language_the_app_picks_and_plain_cases_get_the_file(hub_outage, nginx, live_server):
    published.rebuild()
    renderings = published.current()
    served_by_file = set()
    for cookie, accept_language in itertools.product(COOKIES, ACCEPT_LANGUAGES):
        status, headers, body = _fetch(nginx + "/", Cookie=cookie, Accept_Language=accept_language)
        _status, app_headers, _body = _fetch(live_server.url + "/", Cookie=cookie, Accept_Language=accept_language)
        expected = app_headers["content-language"]
        case = f"Cookie: {cookie!r}, Accept-Language: {accept_language!r}"
        assert status == 200, case
        assert headers["content-language"] == expected, case
        if _from_the_file(headers):
            served_by_file.add((cookie, accept_language))
            assert body == renderings[("status.html", expected)].body, case

    plain = {
        (None, None),
        (None, "zh-CN"),
        (None, "en-GB,en;q=0.9"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8"),
        ("django_language=en", "zh-CN"),
        ("csrftoken=abc123; django_language=en", None),
        ("_ga=GA1.2.3", "en"),
    }
    assert plain <= served_by_file
    # Signed in (or seeming so), or a header nginx cannot read as Django does: always the app.
    assert not {pair for pair in served_by_file if pair[0] and "sessionid" in pair[0]}
    unclear = {"fr,en;q=0.5", "en,!!", "zh-CN;q=0.5,en", "*"}
    assert not {pair for pair in served_by_file if pair[0] is None and pair[1] in unclear}
    assert not {pair for pair in served_by_file if pair[0] and "zh-hans" in pair[0] and "en" in pair[0]}


@pytest.mark.parametrize("encoding", [None, "gzip"])
@pytest.mark.parametrize("accept_language", ["zh-CN", "en-US,en;q=0.9"])
def test_the_file_carries_the_apps_headers_and_bytes(hub_outage, nginx, live_server, accept_language, encoding):
    published.rebuild()
    request = {"Accept_Language": accept_language, "Accept_Encoding": encoding}
    _status, app_headers, app_body = _fetch(live_server.url + "/", **request)
    status, headers, body = _fetch(nginx + "/", **request)

    assert status == 200
    assert _from_the_file(headers)
    assert body == app_body
    if encoding:
        assert gzip.decompress(body).startswith(b"<!doctype html>")
    assert {k: v for k, v in headers.items() if k not in NOT_COMPARED} == {
        k: v for k, v in app_headers.items() if k not in NOT_COMPARED
    }


def test_behind_a_cdn_the_file_is_still_compressed_and_always_whole(hub_outage, nginx, live_server):
    published.rebuild()
    request = {"Accept_Language": "zh-CN", "Accept_Encoding": "gzip", "Via": "1.1 edge.example.net"}

    _status, headers, body = _fetch(nginx + "/", **request)
    ranged = _fetch(nginx + "/", Range="bytes=0-99", **request)

    assert _from_the_file(headers)
    assert headers["content-encoding"] == "gzip"
    assert body == _fetch(live_server.url + "/", **request)[2]
    assert (ranged[0], ranged[2]) == (200, body)


def test_a_browser_revalidating_the_file_gets_a_304(hub_outage, nginx):
    published.rebuild()
    _status, first, _body = _fetch(nginx + "/", Accept_Language="zh-CN")

    by_date = _fetch(nginx + "/", Accept_Language="zh-CN", If_Modified_Since=first["last-modified"])
    by_tag = _fetch(nginx + "/", Accept_Language="zh-CN", If_None_Match=first["etag"])

    assert [by_date[0], by_tag[0]] == [304, 304]
    assert by_tag[2] == b""


def test_the_file_sends_the_strict_transport_security_production_sends():
    shown = (
        "import json, django; from django.conf import settings; django.setup(); print(json.dumps("
        "[settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD]))"
    )
    result = load_settings({}, show=shown)
    assert result.returncode == 0, result.stderr
    seconds, subdomains, preload = json.loads(result.stdout.strip().splitlines()[-1])
    production = f"max-age={seconds}" + ("; includeSubDomains" if subdomains else "") + ("; preload" if preload else "")

    conf = (SHIPPED / "status-file.conf").read_text()
    assert f'add_header Strict-Transport-Security "{production}";' in conf


def test_a_signed_in_member_of_staff_and_a_post_go_to_the_app(hub_outage, nginx, live_server):
    published.rebuild()
    _status, headers, _body = _fetch(nginx + "/", Cookie="sessionid=abc", Accept_Language="zh-CN")
    assert not _from_the_file(headers)

    app_status, _app_headers, _app_body = _fetch(live_server.url + "/", method="POST")
    status, headers, _body = _fetch(nginx + "/", method="POST")
    assert (status, _from_the_file(headers)) == (app_status, False)


def test_without_files_the_app_answers(hub_outage, nginx, published_dir, settings):
    settings.STATUS_PUBLISH_DIR = ""  # nothing written: a first deploy before its first rebuild
    published.rebuild()
    assert not published_dir.exists()

    status, headers, body = _fetch(nginx + "/", Accept_Language="en")

    assert (status, headers["content-language"]) == (200, "en")
    assert not _from_the_file(headers)
    assert body == published.current()[("status.html", "en")].body


def test_a_change_reaches_the_file_within_seconds(hub_outage, nginx):
    published.rebuild()
    _status, first, _body = _fetch(nginx + "/", Accept_Language="en")  # nginx now holds the file open
    ServiceComponent.objects.create(name_zh="北京顺义转运中心", name_en="Beijing Shunyi hub")  # rebuilds on commit

    deadline = time.monotonic() + 5
    while True:
        _status, headers, body = _fetch(nginx + "/", Accept_Language="en")
        if b"Beijing Shunyi hub" in body:
            break
        assert time.monotonic() < deadline, "the new rendering never reached nginx's file"
        time.sleep(0.2)
    assert _from_the_file(headers)
    assert (headers["etag"], headers["last-modified"]) != (first["etag"], first["last-modified"])


# --- the files, without nginx -------------------------------------------------------------------


def test_each_rebuild_writes_the_page_per_language_whole(hub_outage, published_dir):
    published.rebuild()

    renderings = published.current()
    names = sorted(path.name for path in published_dir.iterdir())
    assert names == ["status.en.html", "status.en.html.gz", "status.zh-hans.html", "status.zh-hans.html.gz"]
    for language in ("en", "zh-hans"):
        rendering = renderings[("status.html", language)]
        page, packed = published_dir / f"status.{language}.html", published_dir / f"status.{language}.html.gz"
        assert page.read_bytes() == rendering.body
        assert packed.read_bytes() == rendering.gzipped
        for path in (page, packed):
            assert path.stat().st_mode & 0o777 == 0o644  # nginx's workers read them as another user


def test_a_file_changes_only_when_its_page_does_and_then_always_looks_newer(hub_outage, published_dir):
    published.rebuild()
    page = published_dir / "status.en.html"
    before = page.stat()

    published.mark_changed()  # nothing shown changed: the same bytes
    unchanged = page.stat()
    ServiceComponent.objects.create(name_zh="北京顺义转运中心", name_en="Beijing Shunyi hub")  # rebuilds on commit
    changed = page.stat()

    # nginx's ETag and Last-Modified are the file's time and size: kept for the same page (304s go
    # on), later for a new one even when both come within a second.
    assert (unchanged.st_ino, unchanged.st_mtime) == (before.st_ino, before.st_mtime)
    assert b"Beijing Shunyi hub" in page.read_bytes()
    assert int(changed.st_mtime) > int(before.st_mtime)


def test_nothing_is_written_without_the_setting(hub_outage, settings, scratch):
    settings.STATUS_PUBLISH_DIR = ""
    published.rebuild()
    assert list(scratch.iterdir()) == []


def test_an_unwritable_directory_is_logged_and_the_page_is_still_published(hub_outage, settings, scratch, caplog):
    blocker = scratch / "not-a-directory"
    blocker.write_text("")
    settings.STATUS_PUBLISH_DIR = str(blocker / "published")

    with caplog.at_level(logging.ERROR, logger="portal.published"):
        assert published.rebuild() is True

    assert published.current()[("status.html", "en")].body
    [record] = [r for r in caplog.records if "files not written" in r.getMessage()]
    assert record.directory == str(blocker / "published")


@pytest.mark.parametrize("on_disk", ["missing", "outdated"])
def test_a_process_that_adopts_a_rendering_writes_its_files(hub_outage, settings, published_dir, on_disk):
    settings.STATUS_PUBLISH_DIR = ""
    published.rebuild()  # on another host, or by a process without the setting: in Redis only
    published.memo_reset()
    settings.STATUS_PUBLISH_DIR = str(published_dir)
    if on_disk == "outdated":
        published_dir.mkdir()
        (published_dir / "status.zh-hans.html").write_bytes(b"<p>All systems operational</p>")

    published.current()  # adopts the rendering from Redis

    assert (published_dir / "status.zh-hans.html").read_bytes() == published.current()[("status.html", "zh-hans")].body
    assert not [name for name in os.listdir(published_dir) if name.startswith(".")]  # no temporary left behind


def test_a_failed_write_removes_the_pages_so_nginx_asks_the_app(hub_outage, published_dir, caplog):
    published.rebuild()
    (published_dir / "status.zh-hans.html.gz").unlink()
    (published_dir / "status.zh-hans.html.gz").mkdir()  # cannot be replaced by a file

    with caplog.at_level(logging.ERROR, logger="portal.published"):
        ServiceComponent.objects.create(name_zh="北京顺义转运中心", name_en="Beijing Shunyi hub")  # rebuilds

    assert b"Beijing Shunyi hub" in published.current()[("status.html", "en")].body
    assert not (published_dir / "status.zh-hans.html").exists()
    assert not (published_dir / "status.en.html").exists()  # the older page in English goes too
    assert [r for r in caplog.records if "files not written" in r.getMessage()]
    assert not [name for name in os.listdir(published_dir) if name.startswith(".")]
