"""Reading profile rows back: a window's bucket profiles (whole past hours as rollups), counts, storage.

Decoding a profile (zlib, JSON, sketches) is most of a read's cost, and a dashboard refreshing every
30 s reads the same day of blobs each time. Decoded profiles are therefore kept in a small
process-wide cache keyed by a digest of the stored bytes: a changed row (a new minute, a late shadow
answer, a re-rolled hour) has new bytes, so it can never be served stale. Cached profiles are shared:
readers merge them into new profiles and never change them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from nb2prod.store import tables as t

if TYPE_CHECKING:
    from nb2prod.monitor.profile import LabelProfile, Profile

__all__ = ["BucketProfile", "ProfileReader"]

_HOUR = 3600
_CACHE_BYTES = 16 * 1024 * 1024  # stored (compressed) bytes of the decoded profiles kept; a day of one deployment is ~3 MB


def _signature(parts: Sequence[int]) -> str:
    """Minute profile rows and rows folded, label rows and label updates of one hour."""
    return ":".join(map(str, parts))


@dataclasses.dataclass
class BucketProfile:
    """The merged profile of one bucket of one version and arm (all writers added up)."""

    version_id: str
    arm: str
    bucket: int
    profile: Profile
    labels: LabelProfile | None = None
    width: int = 60  # seconds the bucket covers: a minute, or an hour rollup


class _DecodedCache:
    """Decoded profiles by digest of their stored bytes, least recently used dropped first."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._used = 0
        self._items: OrderedDict[bytes, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, blob: bytes, kind: str, decode: Any) -> Any:
        key = kind.encode() + hashlib.blake2b(blob, digest_size=16).digest()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[0]
        value = decode(blob)
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, len(blob))
                self._used += len(blob)
                while self._used > self._budget and self._items:
                    _, (_, size) = self._items.popitem(last=False)
                    self._used -= size
        return value

    def profile(self, blob: bytes) -> Profile:
        from nb2prod.monitor.profile import Profile

        return self._get(blob, "p", Profile.loads)

    def labels(self, blob: bytes) -> LabelProfile:
        from nb2prod.monitor.profile import LabelProfile

        return self._get(blob, "l", LabelProfile.loads)


_DECODED = _DecodedCache(_CACHE_BYTES)


class ProfileReader:
    """Reads profile rows: bucket profiles of a window, rows per version, storage figures."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def buckets(
        self, name: str, *, since: float | None = None, until: float | None = None, version_id: str | None = None,
        with_labels: bool = True, rollup: bool = False,
    ) -> list[BucketProfile]:
        """Merged bucket profiles of ``name`` whose bucket starts in ``[since rounded down to a bucket, until)``, oldest first.

        ``rollup=True`` answers whole past hours with one hour profile each (kept in ``profile_rollups``,
        re-rolled when its minute rows or labels changed): a day is ~24 profiles to merge instead of 1440.
        """
        from nb2prod.monitor.profile import Profile, bucket_of

        first = bucket_of(since) if since is not None else None
        p, lp = t.profiles, t.label_profiles

        def window(table: sa.Table, query: Any) -> Any:
            query = query.where(table.c.name == name)
            if first is not None:
                query = query.where(table.c.bucket >= first)
            if until is not None:
                query = query.where(table.c.bucket < until)
            if version_id is not None:
                query = query.where(table.c.version_id == version_id)
            return query

        def minutes(table: sa.Table, query: Any, rolled: tuple[int, int] | None) -> Any:
            query = window(table, query)
            if rolled is not None:  # whole past hours come rolled up: fetch only the minutes outside them
                query = query.where(sa.or_(table.c.bucket < rolled[0], table.c.bucket >= rolled[1]))
            return query

        with self._engine.connect() as conn:
            hours, rolled = self._rollups(conn, name, first, until, window) if rollup else ({}, None)
            covered = {(v, a, h) for (v, a, h) in hours}
            merged: dict[tuple[str, str, int], BucketProfile] = {}
            for r in conn.execute(minutes(p, sa.select(p.c.version_id, p.c.arm, p.c.bucket, p.c.data), rolled)):
                bucket = int(r.bucket)
                if (r.version_id, r.arm, bucket - bucket % _HOUR) in covered:
                    continue
                key = (r.version_id, r.arm, bucket)
                profile = _DECODED.profile(r.data)
                if key in merged:  # another writer's row of the same bucket: add both into a new profile
                    merged[key].profile = Profile().merge(merged[key].profile).merge(profile)
                else:
                    merged[key] = BucketProfile(version_id=r.version_id, arm=r.arm, bucket=bucket, profile=profile)
            if with_labels:
                for r in conn.execute(minutes(lp, sa.select(lp.c.version_id, lp.c.arm, lp.c.bucket, lp.c.data), rolled)):
                    bucket = int(r.bucket)
                    key = (r.version_id, r.arm, bucket)
                    if key in merged and (r.version_id, r.arm, bucket - bucket % _HOUR) not in covered:
                        merged[key].labels = _DECODED.labels(r.data)
        items = list(merged.values()) + list(hours.values())
        return sorted(items, key=lambda b: (b.bucket, b.version_id, b.arm))

    def _rollups(
        self, conn: Connection, name: str, first: int | None, until: float | None, window: Any,
    ) -> tuple[dict[tuple[str, str, int], BucketProfile], tuple[int, int] | None]:
        """Hour profiles of the window's whole past hours (stored ones still valid, the others rolled now), and the
        span ``[first hour, end)`` those hours can cover (every minute row in it is inside one of them)."""
        import time

        from nb2prod.monitor.profile import LabelProfile, Profile

        p, lp, ru = t.profiles, t.label_profiles, t.profile_rollups
        closed = time.time() - 2 * _HOUR / 60  # an hour still being written is read by the minute
        limit = min(until, closed) if until is not None else closed

        def eligible(hour: int) -> bool:
            return (first is None or hour >= first) and hour + _HOUR <= limit

        lowest = -(-first // _HOUR) * _HOUR if first is not None else -(2**62)
        span = (lowest, int(limit // _HOUR) * _HOUR)

        signatures: dict[tuple[str, str, int], list[int]] = {}
        hour_of = (p.c.bucket - p.c.bucket % _HOUR).label("hour")
        query = window(p, sa.select(p.c.version_id, p.c.arm, hour_of, sa.func.count(), sa.func.sum(p.c.n))).group_by(
            p.c.version_id, p.c.arm, hour_of)
        for v, a, h, rows, n in conn.execute(query):
            if eligible(int(h)):
                signatures[(v, a, int(h))] = [int(rows), int(n or 0), 0, 0]
        label_hour = (lp.c.bucket - lp.c.bucket % _HOUR).label("hour")
        query = window(lp, sa.select(lp.c.version_id, lp.c.arm, label_hour, sa.func.count(),
                                     sa.func.sum(sa.func.coalesce(lp.c.updates, 0)))).group_by(lp.c.version_id, lp.c.arm, label_hour)
        for v, a, h, rows, updates in conn.execute(query):
            if (v, a, int(h)) in signatures:
                signatures[(v, a, int(h))][2:] = [int(rows), int(updates or 0)]
        if not signatures:
            return {}, None
        hours = sorted({h for _, _, h in signatures})
        query = sa.select(ru.c.version_id, ru.c.arm, ru.c.hour, ru.c.signature, ru.c.data, ru.c.labels).where(
            ru.c.name == name, ru.c.hour >= hours[0], ru.c.hour <= hours[-1])
        out: dict[tuple[str, str, int], BucketProfile] = {}
        for r in conn.execute(query):
            key = (r.version_id, r.arm, int(r.hour))
            if key in signatures and r.signature == _signature(signatures[key]):
                out[key] = BucketProfile(version_id=r.version_id, arm=r.arm, bucket=int(r.hour), width=_HOUR,
                                         profile=_DECODED.profile(r.data), labels=_DECODED.labels(r.labels) if r.labels else None)
        stale = [key for key in signatures if key not in out]
        for v, a, h in stale:
            profile, labels = Profile(), LabelProfile()
            found_labels = False
            for r in conn.execute(sa.select(p.c.data).where(p.c.name == name, p.c.version_id == v, p.c.arm == a,
                                                             p.c.bucket >= h, p.c.bucket < h + _HOUR)):
                profile.merge(Profile.loads(r.data))
            for r in conn.execute(sa.select(lp.c.data).where(lp.c.name == name, lp.c.version_id == v, lp.c.arm == a,
                                                             lp.c.bucket >= h, lp.c.bucket < h + _HOUR)):
                labels.merge(LabelProfile.loads(r.data))
                found_labels = True
            out[(v, a, h)] = BucketProfile(version_id=v, arm=a, bucket=h, width=_HOUR, profile=profile,
                                           labels=labels if found_labels else None)
            self._store_rollup(name, v, a, h, _signature(signatures[(v, a, h)]), profile, labels if found_labels else None)
        return out, span

    def _store_rollup(self, name: str, version_id: str, arm: str, hour: int, signature: str, profile: Profile,
                      labels: LabelProfile | None) -> None:
        """Keep an hour rollup for the next reader; a busy store just means the next reader rolls it again."""
        ru = t.profile_rollups
        key = {"name": name, "version_id": version_id, "arm": arm, "hour": hour}
        try:
            with self._engine.begin() as conn:
                conn.execute(ru.delete().where(*[ru.c[k] == value for k, value in key.items()]))
                conn.execute(ru.insert().values(**key, signature=signature, data=profile.dumps(),
                                                labels=labels.dumps() if labels is not None else None))
        except (sa.exc.OperationalError, sa.exc.IntegrityError):
            pass

    def version_counts(self, name: str, *, since: float | None = None, until: float | None = None) -> dict[str, int]:
        """Rows per version in the window (from the profile rows' counts, no decoding)."""
        from nb2prod.monitor.profile import bucket_of

        p = t.profiles
        query = sa.select(p.c.version_id, sa.func.sum(p.c.n)).where(p.c.name == name).group_by(p.c.version_id)
        if since is not None:
            query = query.where(p.c.bucket >= bucket_of(since))
        if until is not None:
            query = query.where(p.c.bucket < until)
        with self._engine.connect() as conn:
            return {r[0]: int(r[1] or 0) for r in conn.execute(query)}

    def storage(self, name: str | None = None) -> dict[str, float]:
        """Profile rows, total bytes and bytes per bucket (per deployment, version and arm, writers added)."""
        p = t.profiles
        query = sa.select(sa.func.count(), sa.func.sum(sa.func.length(p.c.data)))
        buckets = sa.select(sa.func.count()).select_from(
            sa.select(p.c.name, p.c.version_id, p.c.arm, p.c.bucket).distinct().subquery()
        )
        if name is not None:
            query = query.where(p.c.name == name)
            buckets = sa.select(sa.func.count()).select_from(
                sa.select(p.c.name, p.c.version_id, p.c.arm, p.c.bucket).where(p.c.name == name).distinct().subquery()
            )
        with self._engine.connect() as conn:
            rows, size = conn.execute(query).one()
            n_buckets = int(conn.execute(buckets).scalar_one())
        size = int(size or 0)
        return {"rows": int(rows), "bytes": size, "buckets": n_buckets, "bytes_per_bucket": size / n_buckets if n_buckets else 0.0}
