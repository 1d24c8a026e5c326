"""Reading one field of ``deployment.json``: the error names the file and the field, and how to fix it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError

__all__ = ["bad_field", "number_field"]


def bad_field(field_name: str, problem: str, folder: Path) -> InvalidInputError:
    """The error for a malformed field: which file, which field, what is wrong, how to fix it."""
    return InvalidInputError(
        f"{folder / 'deployment.json'}: {field_name} {problem}",
        fix="re-run %deploy to regenerate the deployment folder, or correct the field by hand",
    )


def number_field(raw: Mapping[str, Any], key: str, default: float, folder: Path, *, low: float, high: float) -> float:
    """``raw[key]`` as a float in ``[low, high]`` (``default`` when absent or null)."""
    value = raw.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or not (low <= float(value) <= high):
        raise bad_field(key, f"must be a number in [{low}, {high}], got {value!r}", folder)
    return float(value)
