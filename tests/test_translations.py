"""Every string the interface shows has its Simplified Chinese translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from orders.models import ParcelStatus

PO_FILE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_no_message_is_left_untranslated():
    text = PO_FILE.read_text(encoding="utf-8")
    entries = re.split(r"\n\n+", text)[1:]  # the first block is the header
    untranslated = [
        entry for entry in entries if re.search(r'^msgstr ""(?:\n(?!")|\Z)', entry, re.MULTILINE) and "#~" not in entry
    ]
    fuzzy = [entry for entry in entries if "#, fuzzy" in entry]

    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize(
    ("status", "chinese"), [(ParcelStatus.AT_HUB, "到达转运中心"), (ParcelStatus.DELIVERED, "已签收")]
)
def test_compiled_catalogue_is_loaded(status, chinese):
    with translation.override("zh-hans"):
        assert str(status.label) == chinese
