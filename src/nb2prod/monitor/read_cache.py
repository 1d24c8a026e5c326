"""What a monitoring read keeps between dashboard refreshes: decoded references and sub-window drift.

A dashboard refreshes every 30 s over a window of mostly past hours that nobody changes; these
two caches make a refresh pay only for what changed. Both are keyed so that a change is never
served stale: the reference by its file's mtime and size, a drift result by the identity of the
profile object it was computed from (the store's decoded-profile cache keys those by content).
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from nb2prod.models import DriftResult
from nb2prod.monitor.drift import with_arrays
from nb2prod.monitor.reference import load_reference

__all__ = ["reference_at", "remember_drift", "remembered_drift"]

_REFERENCES: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}


def reference_at(path: Path) -> dict[str, Any]:
    """The reference at ``path``, numeric sketches as arrays, decoded once per version of the file.

    A dashboard refreshing every 30 s reads the same reference.json for the report and the series;
    decoding it was ~10 ms of each read at 14 features. Keyed by the file's mtime and size, so a
    redeploy that rewrites it is read anew. Callers only read the dict.
    """
    try:
        stat = path.stat()
    except OSError:
        return load_reference(path)  # no file: its one-line NotFoundError, which callers report as a note
    key = (stat.st_mtime_ns, stat.st_size)
    hit = _REFERENCES.get(str(path))
    if hit is not None and hit[0] == key:
        return hit[1]
    reference = with_arrays(load_reference(path))
    if len(_REFERENCES) >= 64:  # one per deployed version a process reads; bounded all the same
        _REFERENCES.clear()
    _REFERENCES[str(path)] = (key, reference)
    return reference


# Drift of a sub-window profile, per profile object. A past hour's rollup is one decoded object
# shared by every read while it stays in the store's decoded cache and nobody changes it, so a
# dashboard refreshing every 30 s computes only the sub-windows that changed. Entries go with
# their profile (weak reference); the reference is compared by identity (reference_at keeps one).
_PART_DRIFT: dict[int, tuple[weakref.ref[Any], dict[tuple[Any, ...], tuple[dict[str, Any], DriftResult]]]] = {}


def remembered_drift(part: Any, reference: dict[str, Any], key: tuple[Any, ...]) -> DriftResult | None:
    entry = _PART_DRIFT.get(id(part))
    if entry is None or entry[0]() is not part:
        return None
    hit = entry[1].get(key)
    return hit[1] if hit is not None and hit[0] is reference else None


def remember_drift(part: Any, reference: dict[str, Any], key: tuple[Any, ...], result: DriftResult) -> None:
    ident = id(part)
    entry = _PART_DRIFT.get(ident)
    if entry is None or entry[0]() is not part:

        def forget(dead: weakref.ref[Any], ident: int = ident) -> None:
            current = _PART_DRIFT.get(ident)
            if current is not None and current[0] is dead:
                _PART_DRIFT.pop(ident, None)

        entry = (weakref.ref(part, forget), {})
        _PART_DRIFT[ident] = entry
    entry[1][key] = (reference, result)
