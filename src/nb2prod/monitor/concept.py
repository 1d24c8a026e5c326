"""Concept drift: the live metric from feedback labels against the validation metric.

Per window: the live metric with a 95% bootstrap interval. Over the whole window: the same, an
ADWIN detector (river) on the error stream in time order, and one score:

    concept score = max(0, validation − upper bound of the live 95% CI) / |validation|

(mirrored, with the lower bound, for error metrics such as ``rmse``). It is 0 while the
validation figure is plausible given the live sample, and otherwise the relative degradation
that sampling noise cannot explain — "92% in the notebook, 84% live" gives ≈ 0.09 minus noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from nb2prod.models import ConceptDriftResult, MetricWindow
from nb2prod.monitor.frames import AuditFrame, DeploymentContext, matches, value_key
from nb2prod.monitor.metrics import HIGHER_IS_BETTER, METRICS, bootstrap_ci, score_metric
from nb2prod.monitor.windows import buckets

if TYPE_CHECKING:
    from nb2prod.monitor.profile import LabelProfile
    from nb2prod.monitor.profile_window import ProfileWindow

__all__ = ["MIN_LABELS", "choose_metric", "concept_drift", "concept_drift_profile", "degradation_score", "labelled_arrays"]

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


def _count_metric(name: str, cells: np.ndarray, layout: dict[str, Any]) -> np.ndarray:
    """``name`` from cell counts (last axis): a binary confusion table ``[tp, fp, fn, tn]`` or score bins of positives then negatives."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "roc_auc":
            k = layout["bins"]
            pos, neg = cells[..., :k].astype(float), cells[..., k:].astype(float)
            below = np.cumsum(neg, axis=-1) - neg  # negatives in lower bins
            p_total, n_total = pos.sum(axis=-1), neg.sum(axis=-1)
            auc = np.sum(pos * (below + 0.5 * neg), axis=-1) / (p_total * n_total)
            return np.where((p_total > 0) & (n_total > 0), auc, np.nan)
        tp, fp, fn, tn = (cells[..., i].astype(float) for i in range(4))
        n = tp + fp + fn + tn
        if name == "accuracy":
            return (tp + tn) / n
        if name == "error_rate":
            return (fp + fn) / n
        if name == "f1":
            return np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        if name == "balanced_accuracy":
            return (tp / (tp + fn) + tn / (tn + fp)) / 2
    raise ValueError(name)


def _count_interval(name: str, cells: np.ndarray, layout: dict[str, Any], replicates: int, seed: int = 0) -> tuple[float | None, float | None]:
    """Percentile bootstrap from counts: resampling n labelled rows is a multinomial draw over the cells."""
    n = int(cells.sum())
    if n < 2:
        return None, None
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, cells / n, size=max(50, replicates))
    values = _count_metric(name, draws, layout)
    values = values[~np.isnan(values)]
    if values.size < 10:
        return None, None
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def _binary_cells(labels: LabelProfile, name: str, positive: str | None) -> tuple[np.ndarray, dict[str, Any]]:
    if name == "roc_auc":
        bins: dict[int, list[int]] = {}
        for label, counts in labels.score_bins.items():
            slot = 0 if label == positive else 1
            for b, c in counts.items():
                bins.setdefault(b, [0, 0])[slot] += c
        order = sorted(b for b, (p, q) in bins.items() if p or q)
        pos = np.array([bins[b][0] for b in order], dtype=np.int64)
        neg = np.array([bins[b][1] for b in order], dtype=np.int64)
        return np.concatenate([pos, neg]), {"bins": len(order)}
    cells = np.zeros(4, dtype=np.int64)
    for (y, d), c in labels.confusion.items():
        cells[{(True, True): 0, (False, True): 1, (True, False): 2, (False, False): 3}[(y == positive, d == positive)]] += c
    return cells, {}


def _regression_values(name: str, sums: Mapping[str, float]) -> tuple[float | None, float | None, float | None]:
    """Live value and a normal-approximation 95% interval of an error metric from its running sums."""
    n = sums.get("n", 0.0)
    if n < 2:
        return None, None, None
    if name == "mae":
        value = sums["abs"] / n
        se = float(np.sqrt(max(sums["e2"] / n - value * value, 0.0) / n))
    elif name == "rmse":
        mse = sums["e2"] / n
        value = float(np.sqrt(mse))
        se = float(np.sqrt(max(sums["e4"] / n - mse * mse, 0.0) / n)) / (2 * value) if value > 0 else 0.0
    elif name == "r2":
        total = sums["y2"] - sums["y"] ** 2 / n
        return (1 - sums["e2"] / total if total > 0 else None), None, None
    else:
        return None, None, None
    return value, value - 1.959964 * se, value + 1.959964 * se


def concept_drift_profile(
    window_profiles: ProfileWindow,
    ctx: DeploymentContext,
    *,
    version_id: str | None,
    window: str = "",
    metric: str | None = None,
    n_windows: int = 12,
    min_labels: int = MIN_LABELS,
    adwin_delta: float = 0.002,
    replicates: int = 300,
) -> ConceptDriftResult:
    """:func:`concept_drift` from label profiles: metrics from confusion counts and binned scores, bootstrap by multinomial draws.

    ADWIN runs on the per-bucket error rate (one value a minute) instead of the per-row error stream.
    """
    profile, labels = window_profiles.merged(version_id)
    positive = value_key(ctx.positive_class)
    n = sum(labels.confusion.values())
    binned = sum(sum(c.values()) for c in labels.score_bins.values())
    has_scores = ctx.task == "binary" and n > 0 and binned == n
    name, validation = choose_metric(ctx, has_scores, metric)
    higher = HIGHER_IS_BETTER[name]
    base: dict[str, Any] = {
        "name": ctx.name, "version_id": ctx.version_id, "metric": name, "validation": validation, "higher_is_better": higher,
        "n_predictions": profile.n, "n_labelled": n, "window": window,
    }
    if n < min_labels:
        return ConceptDriftResult(
            **base, live=None, live_low=None, live_high=None, gap=None, score=None, degraded=False,
            verdict="no_labels" if n == 0 else "insufficient_labels",
        )

    def evaluate(part: LabelProfile, reps: int) -> tuple[float | None, float | None, float | None]:
        if ctx.task == "regression":
            return _regression_values(name, part.regression)
        if ctx.task != "binary":  # multiclass: accuracy from the confusion table's diagonal
            total = sum(part.confusion.values())
            right = sum(c for (y, d), c in part.confusion.items() if y == d)
            cells = np.array([right, total - right], dtype=np.int64)
            value = right / total if total else None
            draws = np.random.default_rng(0).binomial(total, right / total, size=max(50, reps)) / total if total else None
            if name not in ("accuracy", "error_rate") or value is None or draws is None:
                return None, None, None
            if name == "error_rate":
                value, draws = 1 - value, 1 - draws
            low, high = np.percentile(draws, [2.5, 97.5]) if cells.sum() >= 2 else (None, None)
            return value, (None if low is None else float(low)), (None if high is None else float(high))
        cells, layout = _binary_cells(part, name, positive)
        value = float(_count_metric(name, cells, layout))
        low, high = _count_interval(name, cells, layout, reps)
        return (None if np.isnan(value) else value), low, high

    live, low, high = evaluate(labels, replicates)
    windows: list[MetricWindow] = []
    rates: list[tuple[float, float]] = []
    for a, b, _, part in window_profiles.parts(n_windows, version_id):
        k = sum(part.confusion.values())
        if k >= min_labels:
            value, w_low, w_high = evaluate(part, replicates // 2)
            windows.append(MetricWindow(start=a, end=b, n=k, value=value, low=w_low, high=w_high))
        else:
            windows.append(MetricWindow(start=a, end=b, n=k))
    for item in window_profiles.items:
        if (version_id is None or item.version_id == version_id) and item.labels is not None:
            total = sum(item.labels.confusion.values())
            if total:
                wrong = sum(c for (y, d), c in item.labels.confusion.items() if (y == positive) != (d == positive)) \
                    if ctx.task == "binary" else sum(c for (y, d), c in item.labels.confusion.items() if y != d)
                rates.append((float(item.bucket), wrong / total))
    detections: tuple[float, ...] = ()
    if ctx.task != "regression" and rates:
        from nb2prod.adapters.river_drift import adwin_detections

        errors = np.array([r for _, r in rates])
        detections = tuple(rates[i][0] for i in adwin_detections(errors, delta=adwin_delta))
    gap = None if validation is None or live is None else ((validation - live) if higher else (live - validation))
    concept_score = degradation_score(validation, low, high, higher=higher)
    degraded = bool(concept_score is not None and concept_score > 0)
    verdict = "no_validation_metric" if validation is None else "degraded" if degraded else "ok"
    return ConceptDriftResult(
        **base, live=live, live_low=low, live_high=high, gap=gap, score=concept_score, degraded=degraded,
        verdict=verdict, windows=tuple(windows), detections=detections,
    )
