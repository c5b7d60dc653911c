"""``{% once_per_process name [url] %}…{% endonce_per_process %}``: a fragment rendered once per
process for each language, and with ``url`` for each URL (path and query) too.

For the parts of a portal page that depend only on the language and the URL (the header,
the footer, the links that close a lookup result): translations and URLs do not change
while a process runs. What ``{% cache %}`` on a local-memory cache did, without the key
hashing, the key check, the lock and the pickling that made each fragment cost about a
third of rendering it, on the page a crowd reloads. The key is read straight from the
language in force and the request, not through template variables, which cost as much
again.

``page_frame`` keeps a whole page that way, cut where its few per-request parts go, and
``kept_per_process`` is the one store all of it is kept in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django import template
from django.http import HttpRequest
from django.template.base import NodeList, Parser, Token
from django.template.context import Context
from django.template.loader import render_to_string
from django.template.loader_tags import BlockNode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

# A value may come from the URL, which anyone can vary: past this many kept, start again.
MAX_FRAGMENTS = 1000
_kept: dict[tuple[object, ...], Any] = {}
Kept = TypeVar("Kept")


def fragments_forget() -> None:
    """Render everything kept again (tests that change the URLs or the translations)."""
    _kept.clear()


def kept_per_process(key: tuple[object, ...], make: Callable[[], Kept]) -> Kept:
    """What ``make`` gives, made once per process for ``key``: for what depends only on the
    language and the URL, which do not change while a process runs."""
    value = _kept.get(key)
    if value is None:
        value = make()
        if len(_kept) >= MAX_FRAGMENTS:
            _kept.clear()
        _kept[key] = value
    return cast(Kept, value)


class OncePerProcessNode(template.Node):
    # Not searched for {% block %} on every render of a page that extends another: the tag
    # refuses to hold one (once_per_process below).
    child_nodelists = ()

    def __init__(self, name: str, per_url: bool, nodelist: NodeList) -> None:
        self.name = name
        self.per_url = per_url
        self.nodelist = nodelist

    def render(self, context: Context) -> SafeString:
        request = getattr(context, "request", None)
        url = request.get_full_path() if self.per_url and request is not None else ""
        return kept_per_process(
            ("fragment", self.name, get_language(), url),
            lambda: mark_safe(self.nodelist.render(context)),  # noqa: S308 - rendered by the template engine, escaped there
        )


@register.tag
def once_per_process(parser: Parser, token: Token) -> OncePerProcessNode:
    bits = token.split_contents()
    if len(bits) not in {2, 3} or bits[2:] not in ([], ["url"]):
        raise template.TemplateSyntaxError(f"'{bits[0]}' takes a name, then 'url' if the fragment depends on the URL.")
    nodelist = parser.parse(("endonce_per_process",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError(f"'{bits[0]}' cannot hold a block: every page would get the first one's.")
    return OncePerProcessNode(bits[1], per_url=bits[2:] == ["url"], nodelist=nodelist)


def page_frame(request: HttpRequest, template_name: str, slots: tuple[str, ...]) -> tuple[str, ...]:
    """``template_name`` rendered once per process for each language and URL, cut where each of
    ``slots`` (context variables) goes: the page is ``frame[0] + slot 1 + frame[1] + … + frame[-1]``.

    For a page whose only per-request parts are a few values: the template engine walks the
    layout once, and each request joins strings. The template is given nothing but a marker
    for each slot, so, as with ``once_per_process``, what it renders may depend on nothing but
    the language and the URL.
    """

    def render() -> tuple[str, ...]:
        markers = {slot: mark_safe(f"<!--{slot}:{secrets.token_hex(8)}-->") for slot in slots}  # noqa: S308 - our own markers
        return _cut(render_to_string(template_name, markers, request), list(markers.values()), template_name)

    return kept_per_process(("frame", template_name, get_language(), request.get_full_path()), render)


def _cut(page: str, markers: list[str], template_name: str) -> tuple[str, ...]:
    parts = []
    for marker in markers:
        if page.count(marker) != 1:
            raise template.TemplateSyntaxError(f"{template_name} must write each slot once, in the order given.")
        before, page = page.split(marker)
        parts.append(before)
    return (*parts, page)
