"""Tiny inline-SVG charts (no JS, no lab extension): a line with an uncertainty band, and bars."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence

__all__ = ["band_chart", "bar_chart"]

_W, _H, _PAD = 420, 160, 34
_AXIS = _H - 30  # the x axis line; time labels below it
MIN_ROWS = 30  # a point from fewer rows is drawn faded and labelled with its n


def _clock(ts: float, span: float) -> str:
    return time.strftime("%H:%M" if span <= 86_400 else "%b %d %H:%M", time.localtime(ts))


def _scale(lo: float, hi: float, a: float, b: float):  # type: ignore[no-untyped-def]
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def band_chart(
    points: Sequence[tuple[float, float | None, float | None, float | None]],
    *,
    title: str,
    reference: float | None = None,
    reference_label: str = "validation",
    y_range: tuple[float, float] | None = None,
    counts: Sequence[int] | None = None,
) -> str:
    """SVG of ``(time, value, low, high)`` points: a line, a shaded 95% band, a dashed reference line and a time axis.

    ``counts`` (rows behind each point, in the order of ``points``) fades the points from fewer than
    30 rows and labels them with their n.
    """
    known = [p for p in points if p[1] is not None]
    if not known:
        return f'<div style="font:12px sans-serif;color:#777">{html.escape(title)}: not enough data yet</div>'
    xs = [p[0] for p in points]
    ys = [v for p in known for v in p[1:] if v is not None] + ([reference] if reference is not None else [])
    lo, hi = y_range or (min(ys), max(ys))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    fx = _scale(min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1, _PAD, _W - 8)
    fy = _scale(lo, hi, _AXIS, 24)
    n_of = dict(zip(xs, counts, strict=True)) if counts is not None else {}
    band_top = [(fx(p[0]), fy(p[3])) for p in known if p[3] is not None]
    band_bottom = [(fx(p[0]), fy(p[2])) for p in known if p[2] is not None]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" style="font:11px sans-serif">',
             f'<text x="{_PAD}" y="12" font-weight="bold">{html.escape(title)}</text>',
             f'<line x1="{_PAD}" y1="{_AXIS}" x2="{_W - 8}" y2="{_AXIS}" stroke="#bbb"/>',
             f'<text x="2" y="{fy(hi) + 4:.1f}" fill="#666">{hi:.3g}</text>',
             f'<text x="2" y="{fy(lo):.1f}" fill="#666">{lo:.3g}</text>']
    span = max(xs) - min(xs)
    for x, anchor in ((min(xs), "start"), ((min(xs) + max(xs)) / 2, "middle"), (max(xs), "end")):
        if span > 0 or anchor == "start":
            parts.append(f'<text x="{fx(x):.1f}" y="{_AXIS + 14}" fill="#666" text-anchor="{anchor}">{_clock(x, span)}</text>')
    if band_top and len(band_top) == len(band_bottom):
        outline = band_top + band_bottom[::-1]
        parts.append('<polygon fill="#4a90d9" fill-opacity="0.22" stroke="none" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in outline) + '"/>')
    line = " ".join(f"{fx(p[0]):.1f},{fy(p[1]):.1f}" for p in known if p[1] is not None)
    parts.append(f'<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{line}"/>')
    for p in known:
        n = n_of.get(p[0])
        few = n is not None and n < MIN_ROWS
        opacity = ' fill-opacity="0.3"' if few else ""
        tip = f"<title>n={n}</title>" if n is not None else ""
        parts.append(f'<circle cx="{fx(p[0]):.1f}" cy="{fy(p[1]):.1f}" r="2.5" fill="#1f5fa8"{opacity}>{tip}</circle>')
        if few:
            parts.append(f'<text x="{fx(p[0]):.1f}" y="{fy(p[1]) - 5:.1f}" fill="#999" font-size="9" text-anchor="middle">n={n}</text>')
    if reference is not None:
        y = fy(reference)
        parts.append(f'<line x1="{_PAD}" y1="{y:.1f}" x2="{_W - 8}" y2="{y:.1f}" stroke="#d0021b" stroke-dasharray="5,3"/>')
        label_y = y + 12 if y - 3 < 24 else y - 3  # below the line when above it would touch the title
        parts.append(f'<text x="{_W - 10}" y="{label_y:.1f}" fill="#d0021b" text-anchor="end">'
                     f'{html.escape(reference_label)} {reference:.3g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    bars: Sequence[tuple[str, float, float | None, float | None, bool]],
    *,
    title: str,
    threshold: float | None = None,
    threshold_label: str = "",
) -> str:
    """Horizontal bars ``(label, value, low, high, highlighted)`` with optional error whiskers and a threshold."""
    if not bars:
        return f'<div style="font:12px sans-serif;color:#777">{html.escape(title)}: no data</div>'
    row = 16
    height = 22 + row * len(bars) + 6
    top = max([b[1] for b in bars] + [b[3] or 0 for b in bars] + [threshold or 0]) or 1.0
    left, right = 130, _W - 40
    fx = _scale(0.0, top, left, right)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" style="font:11px sans-serif">',
             f'<text x="4" y="12" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, value, low, high, hot) in enumerate(bars):
        y = 20 + i * row
        colour = "#d0021b" if hot else "#4a90d9"
        parts.append(f'<text x="{left - 4}" y="{y + 11}" text-anchor="end">{html.escape(label[:20])}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{max(fx(value) - left, 1):.1f}" height="{row - 5}" fill="{colour}"/>')
        if low is not None and high is not None:
            parts.append(f'<line x1="{fx(low):.1f}" y1="{y + 7}" x2="{fx(high):.1f}" y2="{y + 7}" stroke="#222"/>')
        end = max(fx(value), fx(high) if high is not None else fx(value))  # after the whisker, never on it
        parts.append(f'<text x="{min(end + 3, right + 4):.1f}" y="{y + 11}" fill="#333">{value:.3g}</text>')
    if threshold is not None:
        x = fx(threshold)
        parts.append(f'<line x1="{x:.1f}" y1="16" x2="{x:.1f}" y2="{height - 4}" stroke="#d0021b" stroke-dasharray="4,3"/>')
        if threshold_label:
            parts.append(f'<text x="{x + 3:.1f}" y="{height - 4}" fill="#d0021b">{html.escape(threshold_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
