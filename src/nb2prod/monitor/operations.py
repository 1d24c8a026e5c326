"""Operations: latency percentiles, throughput and failure rates, by version and by window."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nb2prod.models import OperationsResult, OpsStats
from nb2prod.monitor.frames import AuditFrame
from nb2prod.monitor.windows import buckets

if TYPE_CHECKING:
    from nb2prod.monitor.profile import LabelProfile, Profile
    from nb2prod.monitor.profile_window import ProfileWindow

__all__ = ["operations", "operations_profile", "ops_stats", "ops_stats_profile"]


def ops_stats(frame: AuditFrame, start: float, end: float, version_id: str | None = None) -> OpsStats:
    """Figures of ``frame`` (already restricted to the slice) over ``[start, end]``."""
    meta = frame.meta
    n = len(meta)
    if n == 0:
        return OpsStats(start=start, end=end, n=0, version_id=version_id)
    latency = meta["latency_ms"].to_numpy(dtype=float)
    latency = latency[np.isfinite(latency)]
    p50 = p90 = p95 = p99 = None
    if latency.size:
        p50, p90, p95, p99 = (float(v) for v in np.percentile(latency, [50, 90, 95, 99]))
    span = max(end - start, 1e-9)
    return OpsStats(
        start=start,
        end=end,
        n=n,
        version_id=version_id,
        throughput_rps=n / span,
        latency_p50_ms=p50,
        latency_p90_ms=p90,
        latency_p95_ms=p95,
        latency_p99_ms=p99,
        error_rate=float(meta["error"].notna().mean()),
        fallback_rate=float(meta["fallback"].mean()),
        violation_rate=float((meta["violations"] > 0).mean()),
        override_rate=float(meta["overridden"].mean()),
    )


def operations(frame: AuditFrame, *, name: str, window: str = "", n_windows: int = 12) -> OperationsResult:
    """Overall, per-version and per-window operational figures of the predictions in ``frame``."""
    ts = frame.meta["ts"].to_numpy(dtype=float)
    end = frame.until if frame.until is not None else (float(ts.max()) if ts.size else 0.0)
    start = frame.since if frame.since is not None else (float(ts.min()) if ts.size else end)
    overall = ops_stats(frame, start, end)
    versions = sorted(set(frame.meta["version_id"])) if len(frame) else []
    by_version = tuple(
        ops_stats(frame.select((frame.meta["version_id"] == v).to_numpy()), start, end, version_id=v) for v in versions
    )
    timeline = tuple(
        ops_stats(frame.between(a, b, closed=b >= end), a, b) for a, b in buckets(start, end, n_windows)
    )
    return OperationsResult(name=name, window=window, overall=overall, by_version=by_version, timeline=timeline)


def ops_stats_profile(profile: Profile, labels: LabelProfile, start: float, end: float, version_id: str | None = None) -> OpsStats:
    """The same figures from a merged profile; latency percentiles from its KLL sketch (within its rank error)."""
    n = profile.n
    if n == 0:
        return OpsStats(start=start, end=end, n=0, version_id=version_id)
    p50 = p90 = p95 = p99 = None
    if profile.latency is not None and not profile.latency.is_empty():
        p50, p90, p95, p99 = (float(v) for v in profile.latency.get_quantiles([0.5, 0.9, 0.95, 0.99]))
    span = max(end - start, 1e-9)
    return OpsStats(
        start=start, end=end, n=n, version_id=version_id, throughput_rps=n / span,
        latency_p50_ms=p50, latency_p90_ms=p90, latency_p95_ms=p95, latency_p99_ms=p99,
        error_rate=profile.errors / n, fallback_rate=profile.fallbacks / n, violation_rate=profile.violations / n,
        override_rate=labels.overridden / n,
    )


def operations_profile(
    window_profiles: ProfileWindow, *, name: str, version_id: str | None, window: str = "", n_windows: int = 12
) -> OperationsResult:
    """Operational figures of ``version_id`` (all versions when None) from bucket profiles; every version's beside."""
    start, end = window_profiles.start, window_profiles.until
    overall = ops_stats_profile(*window_profiles.merged(version_id), start, end, version_id=version_id)
    by_version = tuple(
        ops_stats_profile(*window_profiles.merged(v), start, end, version_id=v) for v in sorted(window_profiles.versions())
    )
    timeline = tuple(
        ops_stats_profile(profile, labels, a, b) for a, b, profile, labels in window_profiles.parts(n_windows, version_id)
    )
    return OperationsResult(name=name, window=window, overall=overall, by_version=by_version, timeline=timeline)
