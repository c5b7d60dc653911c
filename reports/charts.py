"""Charts drawn on the server as inline SVG: no script, no CDN, and the same markup
prints in the PDF. Sizes are in viewBox units; the SVG scales to its container."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 520, 250
LEFT, RIGHT, TOP, BOTTOM = 40, 48, 20, 44
# Colours that read on white and in the admin's dark theme alike.
BAR = "#417690"
BAD = "#ba2121"
LINE = "#e08a00"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    overlay: float = 0  # the part drawn in red on top (e.g. targets missed)
    ratio: float | None = None  # a 0..1 figure drawn as a line on the right axis


def _nice_ceiling(value: float) -> int:
    # Multiples of four, so the five grid lines fall on whole numbers.
    for ceiling in (4, 8, 12, 20, 40, 60, 80, 100, 200, 400, 600, 800, 1000, 2000, 4000, 6000, 8000, 10000):
        if value <= ceiling:
            return ceiling
    magnitude = 4 * 10 ** (len(str(int(value))) - 1)
    return int(-(-value // magnitude) * magnitude)


def _frame(description: str, body: list[str]) -> SafeString:
    svg = (
        f'<svg class="report-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(description)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="15">'
        f"<title>{escape(description)}</title>{''.join(body)}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 -- every text in it went through escape()


def _axes(maximum: int, plot_height: float) -> list[str]:
    parts = []
    for step in range(5):
        value = maximum * step / 4
        y = TOP + plot_height - plot_height * step / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="currentColor" '
            f'stroke-opacity="0.15"/>'
            f'<text x="{LEFT - 6}" y="{y + 5:.1f}" text-anchor="end" fill="currentColor">{value:g}</text>'
        )
    return parts


def _label_every(count: int, plot_width: float) -> int:
    # Keep x labels about 56 units apart, so a phone-width chart stays legible.
    return max(1, int(-(-count * 56 // plot_width)))


def bar_chart(*, bars: Sequence[Bar], description: str) -> SafeString:
    """Bars (with an optional red overlay) and, when given, a 0–100 % line on the right."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    maximum = _nice_ceiling(max([bar.value for bar in bars] + [1]))
    slot = plot_width / max(len(bars), 1)
    parts = _axes(maximum, plot_height)
    every = _label_every(len(bars), plot_width)
    points = []
    for index, bar in enumerate(bars):
        x = LEFT + slot * index + slot * 0.15
        width = slot * 0.7
        height = plot_height * bar.value / maximum
        overlay = plot_height * min(bar.overlay, bar.value) / maximum
        base = TOP + plot_height
        parts.append(
            f'<rect x="{x:.1f}" y="{base - height:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{BAR}">'
            f"<title>{escape(bar.label)}: {bar.value:g}</title></rect>"
        )
        if overlay:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - height:.1f}" width="{width:.1f}" height="{overlay:.1f}" fill="{BAD}">'
                f"<title>{escape(bar.label)}: {bar.overlay:g}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle" '
                f'fill="currentColor">{escape(bar.label)}</text>'
            )
        if bar.ratio is not None:
            points.append((x + width / 2, TOP + plot_height - plot_height * bar.ratio))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{LINE}"/>' for x, y in points)
        parts.append(
            f'<text x="{WIDTH - RIGHT + 6}" y="{TOP + 4}" fill="{LINE}">100%</text>'
            f'<text x="{WIDTH - RIGHT + 6}" y="{TOP + plot_height + 4}" fill="{LINE}">0%</text>'
        )
    return _frame(description, parts)


def distribution_chart(
    *, labels: Sequence[str], counts: Sequence[int], target_after: int, target_label: str, description: str
) -> SafeString:
    """A histogram with the target as a dashed line after bucket ``target_after``;
    buckets past the target are red."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    maximum = _nice_ceiling(max([*counts, 1]))
    slot = plot_width / max(len(counts), 1)
    parts = _axes(maximum, plot_height)
    every = _label_every(len(counts), plot_width)
    for index, (label, count) in enumerate(zip(labels, counts, strict=True)):
        x = LEFT + slot * index + slot * 0.1
        width = slot * 0.8
        height = plot_height * count / maximum
        colour = BAD if index > target_after else BAR
        parts.append(
            f'<rect x="{x:.1f}" y="{TOP + plot_height - height:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'fill="{colour}"><title>{escape(label)}: {count}</title></rect>'
        )
        if index % every == 0 or index == len(counts) - 1:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle" '
                f'fill="currentColor">{escape(label)}</text>'
            )
    line_x = LEFT + slot * (target_after + 1)
    parts.append(
        f'<line x1="{line_x:.1f}" x2="{line_x:.1f}" y1="{TOP - 4}" y2="{TOP + plot_height}" stroke="{LINE}" '
        f'stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text x="{line_x + 4:.1f}" y="{TOP + 2}" fill="{LINE}" font-weight="bold">{escape(target_label)}</text>'
    )
    return _frame(description, parts)
