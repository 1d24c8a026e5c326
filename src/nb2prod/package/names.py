"""Deployment names, version ids and ``NAME[:VERSION]`` references."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from nb2prod.errors import UsageError

__all__ = ["NAME_PATTERN", "new_version_id", "split_ref", "validate_name", "version_suffix"]

# Lower-case DNS-1123 label: valid as a BentoML tag, a Kubernetes object name and a folder name.
NAME_PATTERN = re.compile(r"^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def validate_name(name: object) -> str:
    """Return ``name`` if it is a legal deployment name, else raise :class:`UsageError`."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        shown = name if isinstance(name, str) else type(name).__name__
        suggestion = re.sub(r"[^a-z0-9-]+", "-", str(name).lower()).strip("-")[:40] or "model"
        if not suggestion[0].isalpha():
            suggestion = f"m-{suggestion}"[:40].rstrip("-")
        raise UsageError(
            f"deployment name {shown!r} is not allowed: use 1-40 lower-case letters, digits and dashes, "
            "starting with a letter and not ending with a dash",
            fix=f"e.g. --name {suggestion}",
        )
    return name


def new_version_id(name: str, now: datetime | None = None) -> str:
    """``<name>-v<UTC timestamp>-<6 hex>``, e.g. ``credit-v20261123t170102-3f9a1c`` (sorts by time)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{name}-v{moment:%Y%m%dt%H%M%S}-{uuid.uuid4().hex[:6]}"


def version_suffix(version_id: str, name: str) -> str:
    """The part after ``<name>-``: the BentoML tag version (``credit:v20261123t170102-3f9a1c``)."""
    prefix = f"{name}-"
    return version_id[len(prefix) :] if version_id.startswith(prefix) else version_id


def split_ref(ref: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME:VERSION`` → (name, version or None); the name is validated."""
    if not isinstance(ref, str) or not ref.strip():
        raise UsageError("empty deployment reference", fix="give NAME or NAME:VERSION, e.g. credit or credit:v2026")
    name, _, version = ref.strip().partition(":")
    validate_name(name)
    return name, (version or None)
