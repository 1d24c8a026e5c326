"""Concept drift: the live metric from feedback labels against the validation metric.

Per window: the live metric with a 95% bootstrap interval. Over the whole window: the same, an
ADWIN detector (river) on the error stream in time order, and one score:

    concept score = max(0, validation − upper bound of the live 95% CI) / |validation|

(mirrored, with the lower bound, for error metrics such as ``rmse``). It is 0 while the
validation figure is plausible given the live sample, and otherwise the relative degradation
that sampling noise cannot explain — "92% in the notebook, 84% live" gives ≈ 0.09 minus noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nb2prod.models import ConceptDriftResult, MetricWindow
from nb2prod.monitor.frames import AuditFrame, DeploymentContext, matches, value_key
from nb2prod.monitor.metrics import HIGHER_IS_BETTER, METRICS, bootstrap_ci, score_metric
from nb2prod.monitor.windows import buckets

__all__ = ["MIN_LABELS", "choose_metric", "concept_drift", "degradation_score", "labelled_arrays"]

MIN_LABELS = 30
_PREFERENCE = {
    "binary": ("accuracy", "roc_auc", "f1", "balanced_accuracy"),
    "multiclass": ("accuracy", "balanced_accuracy"),
    "regression": ("rmse", "mae", "r2"),
}


def labelled_arrays(frame: AuditFrame, ctx: DeploymentContext) -> dict[str, np.ndarray]:
    """``y``, ``pred``, ``score``, ``ts`` of labelled predictions that answered, oldest first."""
    meta = frame.meta
    mask = meta["has_label"].to_numpy(dtype=bool) & meta["output"].notna().to_numpy()
    rows = meta[mask]
    ts = rows["ts"].to_numpy(dtype=float)
    if ctx.task == "regression":
        y = np.asarray(rows["label"].astype(float), dtype=float)
        pred = np.asarray(rows["output"].astype(float), dtype=float)
        score = pred
    elif ctx.task == "binary":
        y = matches(rows["label"], ctx.positive_class)
        pred = matches(rows["output"], ctx.positive_class)
        score = rows["score"].to_numpy(dtype=float)
    else:
        labels = [str(value_key(v)) for v in rows["label"]]
        outputs = [str(value_key(v)) for v in rows["output"]]
        classes = {c: i for i, c in enumerate(sorted(set(labels) | set(outputs)))}
        y = np.array([classes[v] for v in labels], dtype=np.int64)
        pred = np.array([classes[v] for v in outputs], dtype=np.int64)
        score = np.zeros(len(y))
    return {"y": y, "pred": pred, "score": score, "ts": ts}


def choose_metric(ctx: DeploymentContext, has_scores: bool, metric: str | None = None) -> tuple[str, float | None]:
    """The metric to track and its validation value (from the version record's metrics)."""
    recorded = {k: v for k, v in (ctx.record.metrics or {}).items() if isinstance(v, (int, float))}
    if metric is not None:
        if metric not in METRICS:
            from nb2prod.errors import UsageError

            raise UsageError(f"unknown metric {metric!r}", fix=f"choose one of {', '.join(sorted(METRICS))}")
        return metric, (float(recorded[metric]) if metric in recorded else None)
    candidates = _PREFERENCE.get(ctx.task, _PREFERENCE["binary"])
    usable = [m for m in candidates if has_scores or m != "roc_auc"]
    for name in usable:
        if name in recorded:
            return name, float(recorded[name])
    return usable[0], None


def degradation_score(validation: float | None, low: float | None, high: float | None, *, higher: bool) -> float | None:
    """max(0, validation − upper bound) / |validation| (mirrored for error metrics): the drop noise cannot explain."""
    if validation is None or low is None or high is None:
        return None
    scale = abs(validation) or 1.0
    excess = (validation - high) if higher else (low - validation)
    return max(0.0, excess) / scale


def concept_drift(
    frame: AuditFrame,
    ctx: DeploymentContext,
    *,
    window: str = "",
    metric: str | None = None,
    n_windows: int = 12,
    min_labels: int = MIN_LABELS,
    adwin_delta: float = 0.002,
    replicates: int = 300,
) -> ConceptDriftResult:
    """Live vs validation metric per window, ADWIN on the error stream, and the concept score."""
    data = labelled_arrays(frame, ctx)
    y, pred, score, ts = data["y"], data["pred"], data["score"], data["ts"]
    has_scores = ctx.task == "binary" and y.size > 0 and bool(np.all(np.isfinite(score)))
    name, validation = choose_metric(ctx, has_scores, metric)
    higher = HIGHER_IS_BETTER[name]
    n = int(y.size)
    base: dict[str, Any] = {
        "name": ctx.name,
        "version_id": ctx.version_id,
        "metric": name,
        "validation": validation,
        "higher_is_better": higher,
        "n_predictions": len(frame),
        "n_labelled": n,
        "window": window,
    }
    if n < min_labels:
        return ConceptDriftResult(
            **base, live=None, live_low=None, live_high=None, gap=None, score=None, degraded=False,
            verdict="no_labels" if n == 0 else "insufficient_labels",
        )
    live = score_metric(name, y, pred, score)
    low, high = bootstrap_ci(name, y, pred, score, replicates=replicates)
    windows: list[MetricWindow] = []
    start = frame.since if frame.since is not None else float(ts.min())
    end = frame.until if frame.until is not None else float(ts.max())
    for a, b in buckets(start, end, n_windows):
        mask = (ts >= a) & ((ts < b) if b < end else (ts <= b))
        k = int(mask.sum())
        if k >= min_labels:
            value = score_metric(name, y[mask], pred[mask], score[mask])
            w_low, w_high = bootstrap_ci(name, y[mask], pred[mask], score[mask], replicates=replicates // 2)
            windows.append(MetricWindow(start=a, end=b, n=k, value=value, low=w_low, high=w_high))
        else:
            windows.append(MetricWindow(start=a, end=b, n=k))
    from nb2prod.adapters.river_drift import adwin_detections

    errors = (y != pred).astype(float) if ctx.task != "regression" else np.abs(y - pred)
    detections = tuple(float(ts[i]) for i in adwin_detections(errors, delta=adwin_delta))
    gap = None if validation is None or live is None else ((validation - live) if higher else (live - validation))
    concept_score = degradation_score(validation, low, high, higher=higher)
    degraded = bool(concept_score is not None and concept_score > 0)
    verdict = "no_validation_metric" if validation is None else "degraded" if degraded else "ok"
    return ConceptDriftResult(
        **base, live=live, live_low=low, live_high=high, gap=gap, score=concept_score, degraded=degraded,
        verdict=verdict, windows=tuple(windows), detections=detections,
    )
