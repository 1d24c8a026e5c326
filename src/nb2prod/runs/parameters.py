"""Papermill parameters as the fronts take them (``-p KEY VALUE``): a parser with no I/O, so a front
can build a run's or a deploy's parameters without importing the runner."""

from __future__ import annotations

import json
import re
from typing import Any

from nb2prod.errors import UsageError

__all__ = ["parse_parameter"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_parameter(key: str, raw: str) -> tuple[str, Any]:
    """Turn a ``-p key value`` pair into a Python value: JSON literals, numbers, booleans, else text."""
    if not _NAME.match(key):
        raise UsageError(f"parameter name {key!r} is not a Python identifier", fix="use names like n_samples or seed")
    lowered = raw.strip().lower()
    if lowered in {"true", "false"}:
        return key, lowered == "true"
    if lowered in {"none", "null"}:
        return key, None
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw
