"""Sign in as each role and follow, with GET, every link the pages show; collect answers of 500 and up.

``crawl_demo`` runs in the suite's process (PostgreSQL) and, through
``tests.quickstart``, in a process on the quick-start configuration (SQLite).

Bounded so the suite stays quick (about 40 ms an admin page): every role opens every
URL pattern it is shown once, since what a page shows depends on who asks; beyond
that, what depends on the data more than on the role is shared by the roles of one
crawl — at most ``PATHS_PER_ROUTE`` different paths per pattern (another incident,
another complaint) and ``QUERIES_PER_KEYS`` links per pattern and query parameter
(each filter, sort, page, facet or language once). Links with more than
``MAX_QUERY_KEYS`` parameters (a filter on a filter) are left out.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from io import StringIO
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

PATHS_PER_ROUTE = 2
QUERIES_PER_KEYS = 1
MAX_QUERY_KEYS = 1
# The demo's sign-ins (``seed_demo``); ``None`` is the public.
ROLES: dict[str, str | None] = {
    "anonymous": None,
    "agent": "agent",
    "manager": "manager",
    "supervisor": "supervisor",
    "admin": "admin",
}
START_PAGES = ["/", "/admin/"]
# Files, not pages; and signing out would end the crawl of the role.
SKIPPED_PREFIXES = ("/static/", "/media/", "/admin/logout/")


@dataclass
class Crawl:
    role: str
    pages: list[str] = field(default_factory=list)
    # (status, link, exception) of each answer of 500 and up
    failures: list[tuple[int, str, str]] = field(default_factory=list)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def _route(path: str) -> str:
    from django.urls import Resolver404, resolve

    try:
        return resolve(path).route
    except Resolver404:
        return path


@dataclass
class _SharedBudget:
    """What the roles of one crawl visit between them."""

    paths_by_route: dict[str, set[str]] = field(default_factory=dict)
    links_per_query: Counter[tuple[str, frozenset[str]]] = field(default_factory=Counter)


class _Frontier:
    """One role's links still to follow, each once, within the bounds above."""

    def __init__(self, start: list[str], budget: _SharedBudget) -> None:
        self.queue: deque[str] = deque(start)
        self.seen: set[str] = set(start)
        self.routes: set[str] = set()
        self.budget = budget

    def offer(self, page: str, href: str) -> None:
        target = urlsplit(urljoin(page, href))
        if target.scheme not in ("http", "") or target.netloc not in ("testserver", ""):
            return
        if target.path.startswith(SKIPPED_PREFIXES):
            return
        query = parse_qsl(target.query, keep_blank_values=True)
        link = target.path + (f"?{target.query}" if target.query else "")
        if len(query) > MAX_QUERY_KEYS or link in self.seen:
            return
        route = _route(target.path)
        paths = self.budget.paths_by_route.setdefault(route, set())
        if route in self.routes and target.path not in paths and len(paths) >= PATHS_PER_ROUTE:
            return
        if query:
            bucket = (route, frozenset(key for key, _value in query))
            if self.budget.links_per_query[bucket] >= QUERIES_PER_KEYS:
                return
            self.budget.links_per_query[bucket] += 1
        elif route in self.routes and target.path in paths:
            return  # another role opened this very page, and this role has opened the pattern
        self.routes.add(route)
        paths.add(target.path)
        self.seen.add(link)
        self.queue.append(link)


def crawl_role(client: Any, role: str, budget: _SharedBudget) -> Crawl:
    """Follow links from the start pages with ``client`` (already signed in as ``role``)."""
    frontier = _Frontier(list(START_PAGES), budget)
    result = Crawl(role=role)
    while frontier.queue:
        link = frontier.queue.popleft()
        response = client.get(link)
        result.pages.append(link)
        if response.status_code >= 500:
            exc_info = getattr(response, "exc_info", None)
            error = f"{exc_info[0].__name__}: {exc_info[1]}" if exc_info else ""
            result.failures.append((response.status_code, link, error[:300]))
            continue
        if response.status_code in (301, 302, 303, 307, 308):
            frontier.offer(link, response["Location"])
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        parser = _Links()
        parser.feed(response.content.decode(response.charset or "utf-8", errors="replace"))
        for href in parser.hrefs:
            frontier.offer(link, href)
    return result


def crawl_every_role() -> list[Crawl]:
    """Each role of ``ROLES`` with its own client, signed in as the demo user of that name."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    crawls = []
    budget = _SharedBudget()
    for role, username in ROLES.items():
        client = Client(raise_request_exception=False)
        if username is not None:
            client.force_login(get_user_model().objects.get(username=username))
        crawls.append(crawl_role(client, role, budget))
    return crawls


def report(crawls: list[dict[str, Any]]) -> str:
    """One line per role with the pages it visited, then one per failure."""
    lines = [f"{crawl['role']}: {len(crawl['pages'])} pages" for crawl in crawls]
    for crawl in crawls:
        lines += [f"  {status} {crawl['role']} {link} {error}" for status, link, error in crawl["failures"]]
    return "\n".join(lines)


def crawl_demo() -> list[dict[str, Any]]:
    """Load the demo data (``seed_demo``, as ``bin/run`` does) and crawl as every role."""
    from django.core.management import call_command

    call_command("seed_demo", stdout=StringIO())
    return [asdict(crawl) for crawl in crawl_every_role()]
