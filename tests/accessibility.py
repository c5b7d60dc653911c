"""axe-core in the browser tests: WCAG 2.1 A and AA rules run against the page as rendered.

axe-core comes from the npm registry (``package.json``; ``bin/test`` installs it into
``node_modules/`` when it is missing). It is added to every page of a browser context
as an init script, which the pages' Content-Security-Policy does not govern, so the
pages are checked with their real CSP in force.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

AXE = Path(os.environ.get("AXE_CORE_PATH", Path(__file__).resolve().parent.parent / "node_modules/axe-core/axe.min.js"))
WCAG_21_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@cache
def axe_source() -> str:
    if not AXE.exists():
        raise RuntimeError(f"axe-core is missing at {AXE}: run `npm ci` in the checkout (bin/test does it).")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Each WCAG 2.1 A/AA violation on the page as it is now: rule, impact and the elements."""
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_21_A_AA,
    )
    return [
        f"{violation['id']} ({violation['impact']}): "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in result["violations"]
    ]
