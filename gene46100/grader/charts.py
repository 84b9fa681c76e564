"""The class report's charts as inline SVG: a bar per category or per histogram bin.

Why not matplotlib here: the report has three plain bar charts, and importing
matplotlib and rendering them through Agg cost the grading command about 0.7 CPU s
per batch (more than grading two submissions' worth of overhead). Inline SVG keeps
the page a single static file, scales without blurring, is searchable text, and
needs no JavaScript. Every label is escaped; the charts never hold student text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

WIDTH, HEIGHT = 900, 250  # viewBox units (the page scales the chart to its width)
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 48  # room for the axes' labels
ACCENT = "#3867a6"
INK = "#444"
GRID = "#e4e7ed"


def escape(text: object) -> str:
    """HTML-escape anything (quotes too: values also land in attributes)."""
    return html.escape(str(text), quote=True)


def fmt(value: float) -> str:
    """A number as short as it reads (``%g``)."""
    return f"{value:g}"


def nice_step(top: float, ticks: int = 5, integer: bool = False) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks``
    ticks from 0 to ``top``; at least 1 when the axis counts things."""
    raw = max(top, 1e-12) / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return max(1.0, step) if integer else step


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    alt: str,
    ylabel: str,
    xlabel: str = "",
    ymax: float | None = None,
    integer: bool = False,
    edges: Sequence[float] | None = None,
) -> str:
    """An ``<svg role="img">`` with one bar per value.

    ``labels`` name the bars (categories); with ``edges`` (len(values) + 1 numbers)
    the bars are adjacent histogram bins and the x axis is labelled at the edges
    instead. Each bar has a ``<title>`` (its label and value) for a hover tooltip.
    """
    if edges is not None and len(edges) != len(values) + 1:
        raise ValueError("edges must have one more entry than values")
    top = ymax if ymax is not None else max([*values, 1 if integer else 1e-9])
    step = nice_step(top, integer=integer)
    top = ymax if ymax is not None else step * math.ceil(top / step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot_h * (1 - min(value, top) / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="{escape(alt)}" '
        f'font-family="system-ui,sans-serif" font-size="12" fill="{INK}">',
        f"<title>{escape(alt)}</title>",
    ]
    for tick in np.arange(0, top + step / 2, step):
        ty = y(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'stroke="{GRID}"/><text x="{LEFT - 6}" y="{ty + 4:.1f}" '
            f'text-anchor="end">{fmt(round(float(tick), 10))}</text>'
        )
    slot = plot_w / max(1, len(values))
    gap = 1.0 if edges is not None else slot * 0.2
    for i, value in enumerate(values):
        x0 = LEFT + i * slot + gap / 2
        if edges is not None:
            name = f"{fmt(edges[i])} to {fmt(edges[i + 1])}"
        else:
            name = labels[i]
        parts.append(
            f'<rect x="{x0:.1f}" y="{y(value):.1f}" width="{slot - gap:.1f}" '
            f'height="{TOP + plot_h - y(value):.1f}" fill="{ACCENT}">'
            f"<title>{escape(name)}: {fmt(round(value, 3))}</title></rect>"
        )
        if edges is None:
            parts.append(
                f'<text x="{x0 + (slot - gap) / 2:.1f}" y="{TOP + plot_h + 16}" '
                f'text-anchor="middle">{escape(labels[i])}</text>'
            )
    if edges is not None:  # about ten labelled edges, whatever the bin count
        every = max(1, math.ceil(len(edges) / 11))
        for i in range(0, len(edges), every):
            parts.append(
                f'<text x="{LEFT + i * slot:.1f}" y="{TOP + plot_h + 16}" '
                f'text-anchor="middle">{fmt(round(edges[i], 3))}</text>'
            )
    base = TOP + plot_h
    parts += [
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" '
        f'stroke="{INK}"/>',
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" '
        f'text-anchor="middle">{escape(xlabel)}</text>',
        f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(ylabel)}</text>',
        "</svg>",
    ]
    return "".join(parts)


def histogram(
    values: Sequence[float], bins: int | Sequence[float], *, xlabel: str, alt: str
) -> str:
    """Counts of ``values`` per bin (``bins``: edges, or how many equal bins
    between the smallest and largest value), as adjacent bars."""
    counts, edges = np.histogram(np.asarray(values, dtype=float), bins=bins)
    return bar_chart(
        [],
        [int(c) for c in counts],
        alt=alt,
        ylabel="submissions",
        xlabel=xlabel,
        integer=True,
        edges=[float(e) for e in edges],
    )
