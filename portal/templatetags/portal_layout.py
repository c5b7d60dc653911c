"""``{% once_per_process name value… %}…{% endonce_per_process %}``: a fragment rendered once per
process for each combination of the values it names.

For the parts of a portal page that depend only on the language and the URL (the header,
the footer, the links that close a lookup result): translations and URLs do not change
while a process runs. What ``{% cache %}`` on a local-memory cache did, without the key
hashing, the key check, the lock and the pickling that made each fragment cost about a
third of rendering it, on the page a crowd reloads.
"""

from __future__ import annotations

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# A value may come from the URL, which anyone can vary: past this many fragments, start again.
MAX_FRAGMENTS = 1000
_fragments: dict[tuple[object, ...], SafeString] = {}


def fragments_forget() -> None:
    """Render every fragment again (tests that change the URLs or the translations)."""
    _fragments.clear()


class OncePerProcessNode(template.Node):
    def __init__(self, name: str, values: list[FilterExpression], nodelist: NodeList) -> None:
        self.name = name
        self.values = values
        self.nodelist = nodelist

    def render(self, context: Context) -> SafeString:
        key = (self.name, *(value.resolve(context) for value in self.values))
        fragment = _fragments.get(key)
        if fragment is None:
            fragment = mark_safe(self.nodelist.render(context))  # noqa: S308 - rendered by the template engine, escaped there
            if len(_fragments) >= MAX_FRAGMENTS:
                _fragments.clear()
            _fragments[key] = fragment
        return fragment


@register.tag
def once_per_process(parser: Parser, token: Token) -> OncePerProcessNode:
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError(f"'{bits[0]}' needs a name, then the values the fragment depends on.")
    nodelist = parser.parse(("endonce_per_process",))
    parser.delete_first_token()
    return OncePerProcessNode(bits[1], [parser.compile_filter(bit) for bit in bits[2:]], nodelist)
