"""What a monitoring read keeps between dashboard refreshes: decoded references, hour merges, sub-window drift.

A dashboard refreshes every 30 s over a window of mostly past hours that nobody changes; these
caches make a refresh pay only for what changed. All are keyed so that a change is never served
stale: the reference by its file's mtime and size, an hour's merged minutes and a drift result by
the identity of the profile objects they were computed from (the store's decoded-profile cache
keys those by content, so changed bytes are a new object).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb2prod.models import DriftResult
from nb2prod.monitor.drift import with_arrays
from nb2prod.monitor.profile import LabelProfile, Profile
from nb2prod.monitor.reference import load_reference

if TYPE_CHECKING:
    from nb2prod.store.profiles import BucketProfile

__all__ = ["merged_buckets", "reference_at", "remember_drift", "remembered_drift"]

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


# Merges of bucket profiles — one partial hour's minutes, a window's hour rollups — by the identity
# of their decoded profiles. The report, its sub-windows and the drift series of one refresh (and
# the Drift panel's two calls) ask for the same partial hours, and refreshes within an hour for the
# same past hours: merged once, not per read (~0.4 ms per minute profile, ~1 ms per rollup). An
# entry holds its members weakly: when the store's decoded cache lets one go, the entry can no
# longer match (its ids may be reused, the weak references not).
_MERGES: OrderedDict[tuple[int, ...], tuple[list[weakref.ref[Any]], Profile, LabelProfile]] = OrderedDict()
_MERGES_KEPT = 64  # per deployment and version a process reads: two partial hours, the rollups, a dozen 2-hour sub-windows
_MERGES_LOCK = threading.Lock()


def merged_buckets(items: Sequence[BucketProfile]) -> tuple[Profile, LabelProfile]:
    """One profile and label profile of ``items``, computed once while they all stay the same objects.

    Callers only read the result (it is shared, as the rollups are).
    """
    members = [m for x in items for m in (x.profile, x.labels) if m is not None]
    key = tuple(0 if m is None else id(m) for x in items for m in (x.profile, x.labels))
    with _MERGES_LOCK:
        hit = _MERGES.get(key)
        if hit is not None and len(hit[0]) == len(members) and all(r() is m for r, m in zip(hit[0], members, strict=True)):
            _MERGES.move_to_end(key)
            return hit[1], hit[2]
    profile, labels = Profile(), LabelProfile()
    for x in items:
        profile.merge(x.profile)
        if x.labels is not None:
            labels.merge(x.labels)
    with _MERGES_LOCK:
        _MERGES[key] = ([weakref.ref(m) for m in members], profile, labels)
        while len(_MERGES) > _MERGES_KEPT:
            _MERGES.popitem(last=False)
    return profile, labels
