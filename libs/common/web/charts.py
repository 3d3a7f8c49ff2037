"""Charts as server-side SVG: the same markup in the browser and in the PDF, with no script and no library to load.

Each function takes plain numbers and labels and returns an SVG string (escaped, safe to embed in a page). Values are
percentages or counts; ``None`` is "no data" and is drawn as a gap, never as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Series", "bar_chart", "line_chart"]

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 34
LEGEND_LINE = 14  # the height of one legend line under a line chart
PALETTE = ("#0b5cab", "#b71c1c", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def _scale(top: float) -> float:
    """A round upper bound for the axis: 100 for percentages near it, else 1/2/5 × 10ⁿ."""
    if top <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(top)))
    for step in (0.1, 0.2, 0.25, 0.5, 1.0):
        if top <= magnitude * step:
            return float(magnitude * step)
    return float(magnitude)


def _frame(title: str, top: float, unit: str, labels: Sequence[str], below: int = 0) -> list[str]:
    """Axes and labels; ``below`` adds room under the month labels (a legend)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + below}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9e2ec"/>')
        shown = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{shown}{escape(unit)}</text>')
    step = plot_w / max(len(labels), 1)
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="middle">{escape(label)}</text>')
    return parts


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], *, unit: str = "%", target: float | None = None
) -> str:
    """Lines over ``labels`` (e.g. months), one per series; an optional dashed target line."""
    known = [v for s in series for v in s.values if v is not None] + ([target] if target is not None else [])
    top = 100.0 if unit == "%" else _scale(max(known, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels), 1)
    parts = _frame(title, top, unit, labels, below=LEGEND_LINE * len(series) + 6)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * min(value, top) / top

    if target is not None:
        parts.append(
            f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
            f'stroke="#52606d" stroke-dasharray="4 3"/>'
        )
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x = LEFT + step * (i + 0.5)
            runs[-1].append(f"{x:.1f},{y(value):.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y(value):.1f}" r="2.5" fill="{colour}"/>')
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>')
        # One legend line per series, stacked under the chart: long Vietnamese names overlap neither each other nor
        # the lines (drawn over the plot, they hid the lines near 100%).
        parts.append(
            f'<text x="{LEFT}" y="{HEIGHT + 6 + LEGEND_LINE * n}" fill="{colour}" style="fill:{colour}">'
            f"■ {escape(s.name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[float | None], *, unit: str = "", colour: str = PALETTE[0]
) -> str:
    """One bar per label; a missing value leaves its place empty."""
    known = [v for v in values if v is not None]
    top = 100.0 if unit == "%" else _scale(max(known, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels), 1)
    parts = _frame(title, top, unit, labels)
    for i, value in enumerate(values):
        if value is None:
            continue
        height = plot_h * min(value, top) / top
        x = LEFT + step * i + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}" '
            f'fill="{colour}"><title>{escape(labels[i])}: {value:g}{escape(unit)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)
