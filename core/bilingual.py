"""Text kept in Chinese and English side by side (``<field>_zh``, ``<field>_en``)."""

from __future__ import annotations

from django.utils.translation import get_language


class Bilingual:
    """``name`` / ``title`` in the active language, from ``<field>_zh`` and ``<field>_en``."""

    def localized(self, field: str) -> str:
        english: str = getattr(self, f"{field}_en", "")
        if (get_language() or "").startswith("en") and english:
            return english
        chinese: str = getattr(self, f"{field}_zh")
        return chinese

    @property
    def localized_title(self) -> str:
        return self.localized("title")

    @property
    def localized_name(self) -> str:
        return self.localized("name")
