"""Strict reading of settings from the environment.

Every reader raises ``ImproperlyConfigured`` naming the variable and the value it
got, so a typo in a deploy stops start-up with one clear line instead of running
with a silently wrong default.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def is_set(self, name: str) -> bool:
        return bool(self.environ.get(name, "").strip())

    def str(self, name: str, default: str = "") -> str:
        return self.environ.get(name, default).strip()

    def bool(self, name: builtins.str, default: bool = False) -> bool:
        if name not in self.environ:
            return default
        value = self.environ[name].strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, got {self.environ[name]!r}")

    def int(self, name: builtins.str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {value}")
        return value

    def list(self, name: builtins.str, default: list[builtins.str] | None = None) -> list[builtins.str]:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return list(default or [])
        return [item.strip() for item in raw.split(",") if item.strip()]

    def choice(self, name: builtins.str, choices: tuple[builtins.str, ...], default: builtins.str) -> builtins.str:
        value = self.str(name, default) or default
        if value not in choices:
            raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def url(self, name: builtins.str, schemes: tuple[builtins.str, ...], default: builtins.str = "") -> builtins.str:
        raw = self.str(name, default)
        if not raw:
            return ""
        parts = urlsplit(raw)
        if parts.scheme not in schemes:
            raise ImproperlyConfigured(
                f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, "
                f"got scheme {parts.scheme!r}"
            )
        return raw
