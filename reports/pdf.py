"""PDF through WeasyPrint (needs Pango; Chinese text needs a CJK font such as Noto Sans CJK)."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string


def render_pdf(template: str, context: dict[str, Any], *, base_url: str | None = None) -> bytes:
    # Imported here: WeasyPrint loads Pango when imported, which only the PDF needs.
    from weasyprint import HTML

    html = render_to_string(template, context)
    pdf: bytes = HTML(string=html, base_url=base_url).write_pdf()
    return pdf
