"""One monitoring pass over a window: drift, concept drift, estimated performance, fairness, operations, business.

Also flattens the results into named metrics (``drift.score``, ``concept.score``, ``estimated.accuracy``,
``fairness.di_ratio``, ``ops.latency_p95_ms``, ``business.<name>``…) that alert rules refer to.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nb2prod.errors import Nb2prodError
from nb2prod.models import DriftResult, MetricWindow, MonitorReport
from nb2prod.monitor.business import BusinessMetric, evaluate_business
from nb2prod.monitor.concept import concept_drift
from nb2prod.monitor.drift import compute_drift
from nb2prod.monitor.estimate import estimated_performance
from nb2prod.monitor.fairness import fairness
from nb2prod.monitor.frames import AuditFrame, DeploymentContext, deployment_context, load_audit_frame
from nb2prod.monitor.operations import operations
from nb2prod.monitor.reference import load_reference
from nb2prod.monitor.windows import buckets, window_bounds

__all__ = ["MIN_DRIFT_ROWS", "drift_for_frame", "drift_timeline", "flatten_metrics", "metric_count", "monitor_snapshot"]

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
) -> MonitorReport:
    """Everything monitoring computes for deployment ``ref`` (``NAME`` or ``NAME:VERSION``) over ``window``."""
    started = time.perf_counter()
    ctx = deployment_context(store, ref)
    end = time.time() if until is None else until
    since, end = window_bounds(window, end)
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
            reference = load_reference(ctx.reference_path)
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
        notes=tuple(notes),
    )
    import dataclasses

    return dataclasses.replace(
        report, metrics=flatten_metrics(report), elapsed_ms=(time.perf_counter() - started) * 1000
    )
