"""Alertmanager's label matchers: ``component="tracking-api"``, ``severity=~"critical|page"``.

The syntax operators already write in their routing trees, so a rule reads the same
in both places: ``=``, ``!=``, ``=~`` and ``!~``, values in double quotes, one
matcher per line or comma-separated, optionally inside ``{…}``. As in Alertmanager, a
missing label is the empty string and a regular expression must match the whole value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_ESCAPE = re.compile(r"\\(.)")


class MatcherError(ValueError):
    """A matcher that cannot be read, with what is wrong with it."""


@dataclass(frozen=True)
class Matcher:
    name: str
    operator: str
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.pattern is not None:
            return bool(self.pattern.fullmatch(actual)) == (self.operator == "=~")
        return (actual == self.value) == (self.operator == "=")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.operator}"{escaped}"'


def parse_matchers(text: str) -> list[Matcher]:
    """Every matcher in ``text``; ``MatcherError`` naming the first part that is not one."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    matchers = []
    for part in _split(body):
        found = _MATCHER.fullmatch(part)
        if found is None:
            raise MatcherError(
                _('not a matcher: %(part)r (write it as name="value", name=~"regex", …)') % {"part": part.strip()}
            )
        name, operator, quoted = found.groups()
        value = _ESCAPE.sub(r"\1", quoted)
        pattern = None
        if operator in ("=~", "!~"):
            try:
                pattern = re.compile(value)
            except re.error as error:
                raise MatcherError(
                    _("%(matcher)s: not a regular expression (%(error)s)")
                    % {"matcher": name + operator, "error": error}
                ) from None
        matchers.append(Matcher(name, operator, value, pattern))
    if not matchers:
        raise MatcherError(_('at least one matcher is needed, e.g. component="tracking-api"'))
    return matchers


def _split(body: str) -> list[str]:
    """Split on commas and line breaks outside double quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for character in body:
        if escaped:
            escaped = False
        elif character == "\\" and quoted:
            escaped = True
        elif character == '"':
            quoted = not quoted
        elif character in ",\n" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(character)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def all_match(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    return all(matcher.matches(labels) for matcher in matchers)
