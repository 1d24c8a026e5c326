"""One monitoring pass over a window: drift, concept drift, estimated performance, fairness, operations, business.

Also flattens the results into named metrics (``drift.score``, ``concept.score``, ``estimated.accuracy``,
``fairness.di_ratio``, ``ops.latency_p95_ms``, ``business.<name>``…) that alert rules refer to.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from nb2prod.errors import Nb2prodError, NotFoundError, UsageError
from nb2prod.models import DriftResult, MetricWindow, MonitorReport
from nb2prod.monitor.business import BusinessMetric, evaluate_business
from nb2prod.monitor.concept import concept_drift, concept_drift_profile
from nb2prod.monitor.drift import compute_drift, with_arrays
from nb2prod.monitor.drift_profile import compute_drift_profile, compute_drift_profiles
from nb2prod.monitor.estimate import estimated_performance, estimated_performance_profile
from nb2prod.monitor.fairness import fairness, fairness_profile
from nb2prod.monitor.frames import AuditFrame, DeploymentContext, deployment_context, load_audit_frame, require_rows
from nb2prod.monitor.operations import operations, operations_profile
from nb2prod.monitor.profile_window import ProfileWindow, series_points
from nb2prod.monitor.read_cache import reference_at, remember_drift, remembered_drift
from nb2prod.monitor.windows import buckets, window_bounds

__all__ = [
    "MIN_DRIFT_ROWS", "drift_for_frame", "drift_parts", "drift_series", "drift_timeline", "drift_timeline_profile", "flatten_metrics",
    "load_profile_window", "metric_count", "monitor_snapshot", "monitor_with_series", "window_drift",
]

MIN_DRIFT_ROWS = 30


def drift_for_frame(
    reference: dict[str, Any], frame: AuditFrame, ctx: DeploymentContext, *, window: str, alpha: float, min_effect: float
) -> DriftResult:
    return compute_drift(
        reference, frame.inputs, name=ctx.name, version_id=ctx.version_id, window=window, alpha=alpha,
        min_effect=min_effect, since=frame.since, until=frame.until,
    )


def drift_timeline(
    reference: dict[str, Any], frame: AuditFrame, *, n_windows: int, alpha: float, min_effect: float
) -> tuple[MetricWindow, ...]:
    """Dataset drift score (share of drifted features) per sub-window with ≥ 30 rows."""
    ts = frame.meta["ts"].to_numpy(dtype=float)
    if ts.size == 0:
        return ()
    start = frame.since if frame.since is not None else float(ts.min())
    end = frame.until if frame.until is not None else float(ts.max())
    out = []
    for a, b in buckets(start, end, n_windows):
        part = frame.between(a, b, closed=b >= end)
        if len(part) >= MIN_DRIFT_ROWS:
            result = compute_drift(reference, part.inputs, alpha=alpha, min_effect=min_effect)
            out.append(MetricWindow(start=a, end=b, n=len(part), value=result.score, low=None, high=result.max_effect))
        else:
            out.append(MetricWindow(start=a, end=b, n=len(part)))
    return tuple(out)


def drift_parts(
    reference: dict[str, Any], window_profiles: ProfileWindow, *, name: str, version_id: str | None, window: str, points: int,
    alpha: float, min_effect: float,
) -> list[tuple[float, float, int, DriftResult | None]]:
    """Per-feature drift of each of ``points`` sub-windows of whole buckets (None under 30 rows), computed once.

    The report's drift timeline and the drift series are both read off this list, so a dashboard
    refresh computes each sub-window's drift once.
    """
    parts = window_profiles.parts(points, version_id)
    results: list[DriftResult | None] = [None] * len(parts)
    missing: list[int] = []
    for i, (a, b, part, _) in enumerate(parts):
        if part.n >= MIN_DRIFT_ROWS:
            results[i] = remembered_drift(part, reference, (name, version_id, window, alpha, min_effect, a, b))
            if results[i] is None:
                missing.append(i)
    if missing:  # the sub-windows not kept from an earlier read, computed together
        computed = compute_drift_profiles(with_arrays(reference), [parts[i][2] for i in missing], name=name, version_id=version_id,
                                          window=window, alpha=alpha, min_effect=min_effect,
                                          bounds=[(parts[i][0], parts[i][1]) for i in missing])
        for i, result in zip(missing, computed, strict=True):
            a, b, part, _ = parts[i]
            remember_drift(part, reference, (name, version_id, window, alpha, min_effect, a, b), result)
            results[i] = result
    return [(a, b, part.n, result) for (a, b, part, _), result in zip(parts, results, strict=True)]


def drift_timeline_profile(parts: list[tuple[float, float, int, DriftResult | None]]) -> tuple[MetricWindow, ...]:
    """:func:`drift_timeline` from the sub-windows of :func:`drift_parts`."""
    return tuple(
        MetricWindow(start=a, end=b, n=n) if r is None else MetricWindow(start=a, end=b, n=n, value=r.score, low=None, high=r.max_effect)
        for a, b, n, r in parts
    )


def load_profile_window(store: Any, name: str, since: float | None, until: float, *, parts: int | None = None) -> ProfileWindow:
    """The bucket profiles of ``name`` over ``[since, until)``, every version.

    Whole past hours come as hour rollups unless the window is to be split into ``parts`` shorter than an hour.
    """
    rollup = since is None or parts is None or (until - since) / parts >= 3600 - 1e-6
    return ProfileWindow(store.audit.profiles.buckets(name, since=since, until=until, rollup=rollup), since=since, until=until)


def flatten_metrics(report: MonitorReport) -> dict[str, float | None]:
    """Named metrics of a report, for alert rules and the ``--json`` output."""
    m: dict[str, float | None] = {"n": float(report.n)}
    if report.drift is not None:
        d = report.drift
        m.update({"drift.score": d.score, "drift.detected": float(d.detected), "drift.max_effect": d.max_effect,
                  "drift.n_drifted": float(len(d.drifted))})
        for f in d.features:
            m[f"drift.feature.{f.feature}"] = f.effect
    if report.concept is not None:
        c = report.concept
        m.update({"concept.score": c.score, "concept.live": c.live, "concept.gap": c.gap,
                  "concept.n_labelled": float(c.n_labelled), "concept.adwin_detections": float(len(c.detections))})
    if report.estimated is not None:
        e = report.estimated
        m.update({"estimated.accuracy": e.estimated, "estimated.low": e.low, "estimated.high": e.high, "estimated.score": e.score,
                  "estimated.roc_auc": e.roc_auc})
    if report.fairness is not None:
        m["fairness.di_ratio"] = report.fairness.min_di_ratio
        for a in report.fairness.attributes:
            m[f"fairness.{a.attribute}.di_ratio"] = a.di_ratio if a.verdict != "insufficient_data" else None
    o = report.operations.overall
    m.update({"ops.throughput_rps": o.throughput_rps, "ops.latency_p50_ms": o.latency_p50_ms,
              "ops.latency_p95_ms": o.latency_p95_ms, "ops.latency_p99_ms": o.latency_p99_ms,
              "ops.error_rate": o.error_rate, "ops.fallback_rate": o.fallback_rate,
              "ops.violation_rate": o.violation_rate, "ops.override_rate": o.override_rate})
    for key, value in report.business.items():
        m[f"business.{key}"] = value
    return m


def metric_count(report: MonitorReport, metric: str) -> int:
    """Rows behind a metric: labelled predictions for ``concept.*``, the model's scored answers for ``estimated.*``, predictions otherwise."""
    if metric.startswith("concept.") and report.concept is not None:
        return report.concept.n_labelled
    if metric.startswith("estimated.") and report.estimated is not None:
        return report.estimated.n
    return report.n


def monitor_snapshot(
    store: Any,
    ref: str,
    *,
    window: str = "1h",
    until: float | None = None,
    business: Mapping[str, BusinessMetric] | None = None,
    alpha: float = 0.05,
    min_effect: float = 0.1,
    min_group_size: int = 30,
    n_windows: int = 12,
    metric: str | None = None,
    timeline: bool = True,
    source: str = "profiles",
) -> MonitorReport:
    """Everything monitoring computes for deployment ``ref`` (``NAME`` or ``NAME:VERSION``) over ``window``.

    ``source="profiles"`` (default) merges the per-minute profiles written at ingest: the cost does
    not grow with traffic, and the report covers the resolved version (the live one for ``NAME``).
    ``source="rows"`` reads and decodes the window's audit rows: the exact reference path.
    """
    started = time.perf_counter()
    ctx = deployment_context(store, ref)
    end = time.time() if until is None else until
    since, end = window_bounds(window, end)
    if source == "profiles":
        report = _snapshot_profiles(store, ctx, window=window, since=since, until=end, business=business, alpha=alpha,
                                    min_effect=min_effect, min_group_size=min_group_size, n_windows=n_windows, metric=metric,
                                    timeline=timeline)
        return dataclasses.replace(report, metrics=flatten_metrics(report), elapsed_ms=(time.perf_counter() - started) * 1000)
    if source != "rows":
        raise UsageError(f"unknown monitoring source {source!r}", fix="use profiles or rows")
    frame = load_audit_frame(store, ctx.name, since=since, until=end)
    if since is None and len(frame):
        frame.since = float(frame.meta["ts"].min())
    notes: list[str] = []
    if frame.skipped:
        notes.append(
            f"{frame.skipped} stored prediction(s) skipped: their inputs are not finite numbers within ±2**53 (written before the service bounded its input)"
        )
    drift = None
    timeline_values: tuple[MetricWindow, ...] = ()
    if len(frame) >= 1:
        try:
            if ctx.reference_path is None:
                raise Nb2prodError("the version has no deployment folder, so no reference.json")
            reference = reference_at(ctx.reference_path)
            drift = drift_for_frame(reference, frame, ctx, window=window, alpha=alpha, min_effect=min_effect)
            if timeline:
                timeline_values = drift_timeline(reference, frame, n_windows=n_windows, alpha=alpha, min_effect=min_effect)
        except Nb2prodError as exc:
            notes.append(f"data drift skipped: {exc}")
    else:
        notes.append(f"no predictions in the window {window}")
    version_frame = frame.select((frame.meta["version_id"] == ctx.version_id).to_numpy()) if len(frame) else frame
    concept = concept_drift(version_frame, ctx, window=window, metric=metric, n_windows=n_windows)
    estimated = estimated_performance(version_frame, ctx, window=window, n_windows=n_windows)
    fair = None
    if ctx.protected and ctx.task == "regression":
        notes.append("fairness skipped: selection rates need class decisions, and this deployment is a regression")
    elif ctx.protected:
        fair = fairness(frame, ctx, window=window, min_group_size=min_group_size, n_windows=n_windows)
    ops = operations(frame, name=ctx.name, window=window, n_windows=n_windows)
    biz = evaluate_business(frame, business or {})
    report = MonitorReport(
        name=ctx.name, version_id=ctx.version_id, window=window, since=frame.since, until=end, n=len(frame),
        drift=drift, concept=concept, fairness=fair, operations=ops, estimated=estimated, business=biz, drift_timeline=timeline_values,
        notes=tuple(notes), versions={str(k): int(v) for k, v in frame.meta["version_id"].value_counts().items()} if len(frame) else {},
    )
    return dataclasses.replace(
        report, metrics=flatten_metrics(report), elapsed_ms=(time.perf_counter() - started) * 1000
    )


def _snapshot_profiles(
    store: Any, ctx: DeploymentContext, *, window: str, since: float | None, until: float,
    business: Mapping[str, BusinessMetric] | None, alpha: float, min_effect: float, min_group_size: int, n_windows: int,
    metric: str | None, timeline: bool, window_profiles: ProfileWindow | None = None, series_out: list[DriftResult] | None = None,
) -> MonitorReport:
    if window_profiles is None:
        window_profiles = load_profile_window(store, ctx.name, since, until, parts=n_windows if timeline or n_windows else None)
    version = ctx.version_id
    versions = window_profiles.versions()
    profile, _ = window_profiles.merged(version)
    notes: list[str] = []
    skipped = window_profiles.skipped(version)
    if skipped:
        notes.append(
            f"{skipped} stored prediction(s) skipped: their inputs are not finite numbers within ±2**53 (written before the service bounded its input)"
        )
    others = {v: n for v, n in versions.items() if v != version and n}
    if others:
        listed = ", ".join(f"{v} ({n})" for v, n in others.items())
        notes.append(f"this report covers {version} only; the window also holds {listed} — monitor NAME:VERSION to see one")
    drift = None
    timeline_values: tuple[MetricWindow, ...] = ()
    if profile.n >= 1:
        try:
            if ctx.reference_path is None:
                raise Nb2prodError("the version has no deployment folder, so no reference.json")
            reference = reference_at(ctx.reference_path)
            drift = compute_drift_profile(reference, profile, name=ctx.name, version_id=version, window=window, alpha=alpha,
                                          min_effect=min_effect, since=window_profiles.start, until=until)
            if timeline:
                parts = drift_parts(reference, window_profiles, name=ctx.name, version_id=version, window=window, points=n_windows,
                                    alpha=alpha, min_effect=min_effect)
                timeline_values = drift_timeline_profile(parts)
                if series_out is not None:
                    series_out.extend(r for _, _, _, r in parts if r is not None)
        except Nb2prodError as exc:
            notes.append(f"data drift skipped: {exc}")
    else:
        notes.append(f"no predictions of {version} in the window {window}")
    concept = concept_drift_profile(window_profiles, ctx, version_id=version, window=window, metric=metric, n_windows=n_windows)
    estimated = estimated_performance_profile(window_profiles, ctx, version_id=version, window=window, n_windows=n_windows)
    fair = None
    if ctx.protected and ctx.task == "regression":
        notes.append("fairness skipped: selection rates need class decisions, and this deployment is a regression")
    elif ctx.protected:
        fair = fairness_profile(window_profiles, ctx, version_id=version, window=window, min_group_size=min_group_size,
                                n_windows=n_windows)
    ops = operations_profile(window_profiles, name=ctx.name, version_id=version, window=window, n_windows=n_windows)
    biz: dict[str, float | None] = {}
    if business:  # user functions over rows: the one part of a report that still reads the window's rows
        frame = load_audit_frame(store, ctx.name, since=since, until=until, version_id=version)
        biz = evaluate_business(frame, business)
    return MonitorReport(
        name=ctx.name, version_id=version, window=window, since=window_profiles.start, until=until, n=profile.n,
        drift=drift, concept=concept, fairness=fair, operations=ops, estimated=estimated, business=biz,
        drift_timeline=timeline_values, notes=tuple(notes), versions=versions, source="profiles",
    )


def _reference_of(ctx: DeploymentContext) -> dict[str, Any]:
    if ctx.reference_path is None or not ctx.reference_path.is_file():
        raise NotFoundError(f"{ctx.version_id} has no reference.json", fix="redeploy with %deploy")
    return reference_at(ctx.reference_path)


def window_drift(
    store: Any, ref: str, *, window: str = "1h", until: float | None = None, alpha: float = 0.05, min_effect: float = 0.1,
    source: str = "profiles",
) -> DriftResult:
    """Per-feature drift of ``ref``'s live inputs over ``window`` (the resolved version's, from profiles by default)."""
    ctx = deployment_context(store, ref)
    reference = _reference_of(ctx)
    since, end = window_bounds(window, time.time() if until is None else until)
    if source == "rows":
        frame = load_audit_frame(store, ctx.name, since=since, until=end, with_feedback=False)
        require_rows(frame, ctx.name, window)
        return drift_for_frame(reference, frame, ctx, window=window, alpha=alpha, min_effect=min_effect)
    window_profiles = load_profile_window(store, ctx.name, since, end)
    profile, _ = window_profiles.merged(ctx.version_id)
    if profile.n == 0:
        raise NotFoundError(f"no predictions of {ctx.version_id} in the window {window}",
                            fix="widen --window (e.g. --window all) or send traffic to the service")
    return compute_drift_profile(reference, profile, name=ctx.name, version_id=ctx.version_id, window=window, alpha=alpha,
                                 min_effect=min_effect, since=window_profiles.start, until=end)


def drift_series(
    store: Any, ref: str, *, window: str = "1d", points: int | None = None, until: float | None = None, alpha: float = 0.05,
    min_effect: float = 0.1, source: str = "profiles",
) -> list[DriftResult]:
    """Per-feature drift in ``points`` equal sub-windows of ``window`` (oldest first; under 30 rows left out).

    ``points=None`` picks whole-bucket widths from the window: a day gives 48 half-hours, an hour 12 five-minute points.
    """
    if points is not None and not 1 <= points <= 200:
        raise UsageError(f"points must be between 1 and 200, got {points}", fix="e.g. points=12")
    ctx = deployment_context(store, ref)
    reference = _reference_of(ctx)
    since, end = window_bounds(window, time.time() if until is None else until)
    if points is None:
        points = series_points(None if since is None else end - since)
    if source == "rows":
        frame = load_audit_frame(store, ctx.name, since=since, until=end, with_feedback=False)
        require_rows(frame, ctx.name, window)
        start = since if since is not None else float(frame.meta["ts"].min())
        series = []
        for a, b in buckets(start, end, points):
            part = frame.between(a, b, closed=b >= end)
            if len(part) >= MIN_DRIFT_ROWS:
                series.append(compute_drift(reference, part.inputs, name=ctx.name, version_id=ctx.version_id, window=window,
                                            alpha=alpha, min_effect=min_effect, since=a, until=b))
        return series
    window_profiles = load_profile_window(store, ctx.name, since, end, parts=points)
    if not window_profiles.versions().get(ctx.version_id):  # row counts only: no merge to find the window empty
        raise NotFoundError(f"no predictions of {ctx.version_id} in the window {window}",
                            fix="widen --window (e.g. --window all) or send traffic to the service")
    parts = drift_parts(reference, window_profiles, name=ctx.name, version_id=ctx.version_id, window=window, points=points,
                        alpha=alpha, min_effect=min_effect)
    return [r for _, _, _, r in parts if r is not None]


def monitor_with_series(
    store: Any, ref: str, *, window: str = "1d", points: int | None = None, until: float | None = None, alpha: float = 0.05,
    min_effect: float = 0.1, min_group_size: int = 30,
) -> tuple[MonitorReport, list[DriftResult]]:
    """A dashboard refresh: :func:`monitor_snapshot` and :func:`drift_series` at the same ``points`` from one read.

    The window's profiles are loaded and merged once; each sub-window's drift is computed once and
    gives both the report's drift timeline and the per-feature series. Same results as the two calls.
    """
    started = time.perf_counter()
    ctx = deployment_context(store, ref)
    since, end = window_bounds(window, time.time() if until is None else until)
    if points is None:
        points = series_points(None if since is None else end - since)
    if not 1 <= points <= 200:
        raise UsageError(f"points must be between 1 and 200, got {points}", fix="e.g. points=24")
    window_profiles = load_profile_window(store, ctx.name, since, end, parts=points)
    window_profiles.parts(points, ctx.version_id)  # first: the whole window's merge then adds up these few sub-windows
    series: list[DriftResult] = []
    report = _snapshot_profiles(store, ctx, window=window, since=since, until=end, business=None, alpha=alpha, min_effect=min_effect,
                                min_group_size=min_group_size, n_windows=points, metric=None, timeline=True,
                                window_profiles=window_profiles, series_out=series)
    report = dataclasses.replace(report, metrics=flatten_metrics(report), elapsed_ms=(time.perf_counter() - started) * 1000)
    return report, series
