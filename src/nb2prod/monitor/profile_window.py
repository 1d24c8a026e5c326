"""A window of bucket profiles: merged whole, per version, or split into sub-windows of whole buckets.

The profiles handed out are shared (a sub-window of one hour rollup is that rollup): callers read
them and never change them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nb2prod.monitor.profile import BUCKET_S, LabelProfile, Profile
from nb2prod.monitor.read_cache import merged_buckets
from nb2prod.monitor.windows import buckets

if TYPE_CHECKING:
    from nb2prod.store.profiles import BucketProfile

__all__ = ["ProfileWindow", "series_points"]

_HOUR = 3600
_WIDTHS = (60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)


def series_points(seconds: float | None, *, most: int = 30) -> int:
    """Points of a time series over ``seconds``: the finest width giving at most ``most`` (an hour → 12, a day → 24 hours)."""
    if seconds is None:
        return 24
    for width in _WIDTHS:
        if seconds / width <= most:
            return max(1, math.ceil(seconds / width))
    return most


@dataclasses.dataclass
class ProfileWindow:
    """Bucket profiles of one deployment over ``[since, until)`` (bucket starts; all versions and arms)."""

    items: Sequence[BucketProfile]
    since: float | None
    until: float
    # every statistic asks for the same merges: each is computed once (callers never mutate them)
    _merged: dict[tuple[str | None, float | None, float | None, bool], tuple[Profile, LabelProfile]] = dataclasses.field(
        default_factory=dict, init=False, repr=False)
    _parts: dict[tuple[int, str | None], list[tuple[float, float, Profile, LabelProfile]]] = dataclasses.field(
        default_factory=dict, init=False, repr=False)

    @property
    def start(self) -> float:
        if self.since is not None:
            return self.since
        return float(min((b.profile.ts_min for b in self.items if b.profile.ts_min is not None), default=self.until))

    def versions(self) -> dict[str, int]:
        """Rows per version in the window, largest first."""
        counts: dict[str, int] = {}
        for b in self.items:
            counts[b.version_id] = counts.get(b.version_id, 0) + b.profile.n
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def skipped(self, version_id: str | None = None) -> int:
        return sum(b.profile.skipped for b in self.items if version_id is None or b.version_id == version_id)

    def merged(
        self, version_id: str | None = None, start: float | None = None, end: float | None = None, *, closed: bool = False
    ) -> tuple[Profile, LabelProfile]:
        """One profile (and label profile) of the buckets of ``version_id`` (all when None) starting in ``[start, end)``."""
        key = (version_id, start, end, closed)
        if key in self._merged:
            return self._merged[key]
        if start is None and end is None and version_id is not None and (None, None, None, False) in self._merged \
                and set(self.versions()) == {version_id}:
            self._merged[key] = self._merged[(None, None, None, False)]
            return self._merged[key]
        chosen = [b for b in self.items if (version_id is None or b.version_id == version_id)
                  and (start is None or b.bucket + BUCKET_S > start) and (end is None or (b.bucket <= end if closed else b.bucket < end))]
        self._merged[key] = _combine(chosen)
        return self._merged[key]

    def parts(self, count: int, version_id: str | None = None) -> list[tuple[float, float, Profile, LabelProfile]]:
        """``count`` equal sub-windows, each the merge of the buckets starting in it (the last one closed)."""
        if (count, version_id) in self._parts:
            return self._parts[(count, version_id)]
        start, end = self.start, self.until
        align = max((x.width for x in self.items), default=BUCKET_S)
        if align > BUCKET_S:  # hour rollups: sub-windows of whole hours, so no hour is split between two
            start = float(math.floor(start / align) * align)
            width = float(max(align, round((end - start) / count / align) * align))
            edges: list[tuple[float, float]] = [(start + i * width, start + (i + 1) * width if i < count - 1 else end) for i in range(count)]
            edges = [(a, max(a, b)) for a, b in edges if a < end] or [(start, end)]
        else:
            edges = buckets(start, end, count)
        out: list[tuple[float, float, Profile, LabelProfile]] = []
        for a, b in edges:
            last = b >= end
            chosen = [x for x in self.items if (version_id is None or x.version_id == version_id)
                      and x.bucket >= a - (BUCKET_S if a == edges[0][0] else 0) and (x.bucket <= b if last else x.bucket < b)]
            out.append((a, b, *_combine(chosen)))
        self._parts[(count, version_id)] = out
        return out


def _combine(chosen: Sequence[BucketProfile]) -> tuple[Profile, LabelProfile]:
    """One profile of ``chosen``: its hour rollups merged together and each hour's minute buckets merged together,
    each once per process (read_cache keeps them by the identity of the decoded profiles), then added up.

    A dashboard refreshing every 30 s reads the same past hours and the same partial hours' minutes
    but for the newest: the window's whole merge is then three merges, not two dozen. A sub-window
    of one hour rollup, or of one partial hour, is that shared profile itself (nobody changes it),
    so the drift kept per profile object is found again by the next read.
    """
    rollups: list[BucketProfile] = []
    minutes: dict[int, list[BucketProfile]] = {}
    for x in chosen:
        if x.width > BUCKET_S:
            rollups.append(x)
        else:
            minutes.setdefault(x.bucket - x.bucket % _HOUR, []).append(x)
    pieces = [group for group in (rollups, *minutes.values()) if group]
    merged = [merged_buckets(group) if len(group) > 1 else (group[0].profile, group[0].labels) for group in pieces]
    if len(merged) == 1 and merged[0][1] is not None:
        return merged[0][0], merged[0][1]
    profile, labels = Profile(), LabelProfile()
    for part, part_labels in merged:
        profile.merge(part)
        if part_labels is not None:
            labels.merge(part_labels)
    return profile, labels
