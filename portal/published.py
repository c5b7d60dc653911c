"""The status page, its Statuspage JSON and its feed, rendered ahead and served without SQL.

Every form of the page is rendered from one snapshot when something it shows
changes, and kept in Redis (shared by all web processes) and in each process's
memory. A request reads memory; at most once a second it asks Redis whether a
newer rendering exists. So a warm request runs no SQL, and with PostgreSQL down
the page still shows the last known state and its time.

Rebuilds take a lock and coalesce: a change that arrives while another process
is rebuilding marks the page dirty, and the builder goes round again before it
lets go, so one rebuild runs at a time and no change is missed. A cold cache is
filled by one request while the others wait for it (no stampede).

Where ``STATUS_PUBLISH_DIR`` is set (production), each rendering of the status page
is also written there as ``status.<language>.html`` and its ``.gz``, for nginx to
send to anonymous visitors without asking the app (``deploy/nginx/status-file.conf``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import http_date

from portal import statuspage
from portal.snapshot import status_snapshot

logger = logging.getLogger(__name__)

KEY_BLOB = "statuspage:blob"
KEY_GENERATION = "statuspage:generation"
KEY_DIRTY = "statuspage:dirty"
KEY_LOCK = "statuspage:lock"
LOCK_SECONDS = 60
RECHECK_SECONDS = 1.0
COLD_WAIT_SECONDS = 5.0
LANGUAGES = [code for code, _name in settings.LANGUAGES]
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Published:
    body: bytes
    gzipped: bytes  # compressed once here, not per request
    content_type: str
    etag: str
    last_modified: datetime
    generated_at: datetime

    @cached_property
    def headers(self) -> dict[str, str]:
        """The validators, formatted once per process rather than per request."""
        return {
            "Last-Modified": http_date(self.last_modified.timestamp()),
            "X-Status-Generated-At": self.generated_at.isoformat(),
        }


class _Memo:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.generation: str | None = None
        self.outputs: dict[tuple[str, str], Published] = {}
        self.checked = 0.0


_memo = _Memo()
builds = 0  # rebuilds done by this process; the stampede test reads it


def memo_reset() -> None:
    """Forget this process's copy (tests; a deploy does it by restarting)."""
    _memo.reset()


def published(name: str, language: str) -> Published:
    """The current rendering of ``name`` (``status.html``, ``summary.json``, …) in ``language``.

    Raises ``DatabaseError`` only when nothing was ever rendered and the
    database cannot be read.
    """
    outputs = _current()
    return outputs[(name, language)]


def current() -> dict[tuple[str, str], Published]:
    """Every current rendering, by (name, language); a new dict whenever a new rendering is adopted.

    Raises what ``published`` raises.
    """
    return _current()


def _current() -> dict[tuple[str, str], Published]:
    now = time.monotonic()
    if _memo.outputs and now - _memo.checked < RECHECK_SECONDS:
        return _memo.outputs
    try:
        generation = cache.get(KEY_GENERATION)
        if generation is not None and generation == _memo.generation:
            _memo.checked = now
            return _memo.outputs
        if generation is not None and _adopt(cache.get(KEY_BLOB)):
            return _memo.outputs
    except Exception as error:  # noqa: BLE001 - Redis down: this process's copy, or the database
        logger.warning("status page cache unreadable", extra={"error": type(error).__name__})
        if _memo.outputs:
            _memo.checked = now
            return _memo.outputs
        return _remember(None, _written(render_all(status_snapshot())))
    if _memo.outputs:
        # Redis lost it (restart, eviction): keep serving ours and rebuild once, behind the lock.
        _memo.checked = now
        _rebuild_quietly()
        return _memo.outputs
    return _fill_cold()


def _adopt(blob: tuple[str, dict[tuple[str, str], Published]] | None) -> bool:
    if not blob:
        return False
    generation, outputs = blob
    _remember(generation, outputs)
    # Rendered on another host, or by a process without the setting: this host's nginx needs them
    # too (an unchanged file is left as it is).
    _written(outputs)
    return True


def _remember(generation: str | None, outputs: dict[tuple[str, str], Published]) -> dict[tuple[str, str], Published]:
    with _memo.lock:
        _memo.generation, _memo.outputs, _memo.checked = generation, outputs, time.monotonic()
    return outputs


def _fill_cold() -> dict[tuple[str, str], Published]:
    if rebuild():
        return _memo.outputs
    # Someone else is building: wait for their result rather than pile onto the database.
    deadline = time.monotonic() + COLD_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if _adopt(cache.get(KEY_BLOB)):
            return _memo.outputs
    logger.warning("status page still cold after waiting; rendering here")
    return _remember(None, _written(render_all(status_snapshot())))


def mark_changed() -> None:
    """Something the status page shows changed (called after commit): rebuild now, or let the builder know."""
    try:
        cache.set(KEY_DIRTY, uuid.uuid4().hex, timeout=None)
    except Exception as error:  # noqa: BLE001 - the writer's work stands; the periodic rebuild catches up
        logger.warning("could not mark the status page changed", extra={"error": type(error).__name__})
        return
    _rebuild_quietly()


def _rebuild_quietly() -> None:
    try:
        rebuild()
    except Exception:  # a rebuild must never fail the request or task that changed something
        logger.exception("status page rebuild failed; the last rendering stays up")


def rebuild() -> bool:
    """Render and publish, unless another process holds the lock (it will see the dirty mark).

    Returns whether this call published a rendering.
    """
    global builds
    built = False
    while True:
        token = uuid.uuid4().hex
        if not cache.add(KEY_LOCK, token, timeout=LOCK_SECONDS):
            return built
        try:
            while True:
                marker = cache.get(KEY_DIRTY)
                started = time.monotonic()
                outputs = _written(render_all(status_snapshot()))
                generation = uuid.uuid4().hex
                cache.set(KEY_BLOB, (generation, outputs), timeout=None)
                cache.set(KEY_GENERATION, generation, timeout=None)
                _remember(generation, outputs)
                builds += 1
                built = True
                logger.info("status page rebuilt", extra={"ms": round(1000 * (time.monotonic() - started))})
                if cache.get(KEY_DIRTY) == marker:
                    break
        finally:
            if cache.get(KEY_LOCK) == token:
                cache.delete(KEY_LOCK)
        # A change that came between our last look and the release found the lock taken: go again.
        if cache.get(KEY_DIRTY) == marker:
            return built


def _written(outputs: dict[tuple[str, str], Published]) -> dict[tuple[str, str], Published]:
    """``outputs``, after writing the status page's files for nginx (if ``STATUS_PUBLISH_DIR`` is set).

    Each file is replaced whole (written aside, then renamed), the ``.gz`` before the page nginx
    looks for. A failure is logged and never stops the rendering; the pages nginx looks for are
    then removed, so that it asks the app rather than show an outdated page in an outage.
    """
    directory = settings.STATUS_PUBLISH_DIR
    if not directory:
        return outputs
    root = Path(directory)
    try:
        root.mkdir(parents=True, exist_ok=True)
        for language in LANGUAGES:
            rendering = outputs[("status.html", language)]
            page = root / _page_name(language)
            _file_replace(page.with_name(page.name + ".gz"), rendering.gzipped)
            _file_replace(page, rendering.body)
    except OSError as error:
        logger.error(
            "status page files not written; nginx asks the app instead",
            extra={"directory": directory, "error": str(error)},
        )
        _files_remove(root)
    return outputs


def _files_remove(root: Path) -> None:
    for language in LANGUAGES:
        page = root / _page_name(language)
        try:
            page.unlink(missing_ok=True)
        except OSError as error:
            logger.critical(
                "an outdated status page file could not be removed; nginx may send it",
                extra={"file": str(page), "error": str(error)},
            )


def _page_name(language: str) -> str:
    return f"status.{language}.html"  # deploy/nginx/parcel.conf: try_files /status.$language.html


def _file_replace(target: Path, content: bytes) -> None:
    """Put ``content`` at ``target`` unless it is there already.

    nginx's validators are the file's time and size, so an unchanged file keeps its time (browsers
    keep getting 304s) and a changed one always gets a later one, even within the same second.
    """
    try:
        current = target.stat()
    except FileNotFoundError:
        current = None
    if current is not None and current.st_size == len(content) and target.read_bytes() == content:
        return
    modified = max(time.time(), current.st_mtime + 1 if current is not None else 0.0)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            os.fchmod(file.fileno(), 0o644)  # nginx's workers run as another user
        os.utime(temporary, (modified, modified))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- rendering -------------------------------------------------------------------------------


def render_all(snapshot: dict[str, Any]) -> dict[tuple[str, str], Published]:
    outputs: dict[tuple[str, str], Published] = {}
    last_modified = snapshot["updated_at"]
    for language in LANGUAGES:
        with translation.override(language):
            bodies = {"status.html": (render_status_html(snapshot).encode(), "text/html; charset=utf-8")}
            for path, document in statuspage.documents(snapshot).items():
                body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
                bodies[path] = (body, JSON_TYPE)
            bodies["history.atom"] = (render_feed(snapshot), "application/atom+xml; charset=utf-8")
        for name, (body, content_type) in bodies.items():
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            outputs[(name, language)] = Published(
                body, gzip.compress(body, mtime=0), content_type, etag, last_modified, snapshot["generated_at"]
            )
    return outputs


def status_context(snapshot: dict[str, Any]) -> dict[str, Any]:
    text = statuspage.text
    components = {
        c["id"]: {**c, "name": text(c, "name"), "description": text(c, "description")} for c in snapshot["components"]
    }
    groups = [
        {"name": text(g, "name"), "components": [components[i] for i in g["component_ids"]]} for g in snapshot["groups"]
    ]
    ungrouped = [c for c in components.values() if c["group_id"] is None]
    if ungrouped:
        groups.append({"name": "", "components": ungrouped})
    incidents = [
        {
            **i,
            "title": text(i, "title"),
            "summary": text(i, "summary"),
            "category": text(i, "category"),
            "latest": next(({**u, "html": update_html(u)} for u in i["updates"] if update_html(u).strip()), None),
            "component_names": [components[c["id"]]["name"] for c in i["components"] if c["id"] in components],
        }
        for i in snapshot["incidents"]
        if i["is_open"]
    ]
    maintenances = [
        {
            **m,
            "title": text(m, "title"),
            "description": text(m, "description"),
            "component_names": [components[i]["name"] for i in m["component_ids"] if i in components],
        }
        for m in snapshot["maintenances"]
        if m["state"] in statuspage.ACTIVE | statuspage.UPCOMING
    ]
    return {
        "status": statuspage.overall(snapshot),
        "groups": groups,
        "incidents": incidents,
        "maintenances": maintenances,
        "updated_at": snapshot["updated_at"],
        "generated_at": snapshot["generated_at"],
    }


def update_html(update: dict[str, Any]) -> str:
    """An update's sanitised HTML in the active language (Chinese when there is no English)."""
    english = (translation.get_language() or "").startswith("en")
    return (update["body_en_html"] if english and update["body_en_html"] else update["body_zh_html"]) or ""


def render_status_html(snapshot: dict[str, Any]) -> str:
    return render_to_string("portal/status.html", status_context(snapshot))


def render_feed(snapshot: dict[str, Any]) -> bytes:
    text = statuspage.text
    base = settings.PUBLIC_BASE_URL
    feed = Atom1Feed(
        title=str(translation.gettext("Parcel service status")) + " · " + translation.gettext("Incident history"),
        link=f"{base}/",
        description=translation.gettext("Incidents and their public updates"),
        feed_url=f"{base}/history.atom",
        language=translation.get_language(),
    )
    for item in snapshot["incidents"]:
        updates = "".join(
            f"<p><small>{timezone.localtime(u['created_at']):%Y-%m-%d %H:%M}</small></p>{update_html(u)}"
            for u in item["updates"]
        )
        feed.add_item(
            title=f"{item['reference']} {text(item, 'title')}",
            link=f"{base}/incidents/{item['id']}/",
            description=updates or text(item, "summary"),
            unique_id=f"{base}/incidents/{item['id']}/",
            pubdate=item["created_at"],
            updateddate=item["updated_at"],
        )
    return feed.writeString("utf-8").encode()
