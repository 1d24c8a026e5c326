"""Time windows: ``30s``, ``15m``, ``1h``, ``7d``, ``2w`` or ``all``; equal-width buckets within one."""

from __future__ import annotations

import re

from nb2prod.errors import UsageError

__all__ = ["buckets", "parse_window", "window_bounds"]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_window(text: str | float | int | None) -> float | None:
    """Seconds in a window spec; ``None`` for ``all`` (everything in the store)."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        if text <= 0:
            raise UsageError(f"window must be positive, got {text}", fix="use e.g. 1h, 30m, 7d or all")
        return float(text)
    if text.strip().lower() in {"all", "*", ""}:
        return None
    match = _PATTERN.match(text)
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"bad window {text!r}", fix="use a number and a unit: 30s, 15m, 1h, 7d, 2w — or all")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def window_bounds(window: str | float | None, until: float) -> tuple[float | None, float]:
    """``(since, until)`` of the window ending at ``until``."""
    seconds = parse_window(window)
    return (None if seconds is None else until - seconds), until


def buckets(start: float, end: float, count: int) -> list[tuple[float, float]]:
    """``count`` equal-width ``[a, b)`` buckets covering ``[start, end]`` (the last one closed)."""
    if count < 1 or end <= start:
        return [(start, end)]
    width = (end - start) / count
    return [(start + i * width, start + (i + 1) * width) for i in range(count)]
