"""Performance without labels: accuracy estimated from calibrated scores (confidence-based).

Labels arrive late (a loan defaults months later), so concept drift measured from feedback is
always behind. At deploy, ``calibration_map`` fits an isotonic map from the model's holdout scores
to the observed positive rate. Here each live decision is right with probability ``p`` (decided
positive) or ``1 − p``, where ``p`` is its calibrated score; their mean estimates accuracy, the
expected confusion matrix gives precision, recall and F1, and the expected ROC curve the AUC. This catches the degradation covariate
shift causes (rows moving to where the model is unsure) the day it happens; a changed relation
between inputs and outcome is what labels, and :mod:`nb2prod.monitor.concept`, reveal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nb2prod.models import EstimatedPerformance, MetricWindow
from nb2prod.monitor.concept import degradation_score
from nb2prod.monitor.frames import AuditFrame, DeploymentContext, matches, value_key
from nb2prod.monitor.windows import buckets

if TYPE_CHECKING:
    from nb2prod.monitor.profile import Profile
    from nb2prod.monitor.profile_window import ProfileWindow

__all__ = [
    "MIN_ROWS", "calibrated", "estimate_accuracy", "estimate_roc_auc", "estimated_performance", "estimated_performance_profile",
]

MIN_ROWS = 30
_Z95 = 1.959964


def calibrated(scores: np.ndarray, calibration: dict[str, Any]) -> np.ndarray:
    """Calibrated positive probabilities of raw ``scores`` (the isotonic step function, interpolated)."""
    return np.interp(scores, np.asarray(calibration["scores"], dtype=float), np.asarray(calibration["rates"], dtype=float))


def estimate_accuracy(p: np.ndarray, positive: np.ndarray) -> tuple[float, float, float]:
    """Estimated accuracy of decisions ``positive`` given calibrated probabilities ``p``, with a 95% interval."""
    right = np.where(positive, p, 1.0 - p)
    n = right.size
    value = float(right.mean())
    half = _Z95 * float(np.sqrt(np.sum(right * (1.0 - right)))) / n  # the sum of n Bernoulli(right_i)
    return value, max(0.0, value - half), min(1.0, value + half)


def estimate_roc_auc(scores: np.ndarray, p: np.ndarray) -> float | None:
    """Expected ROC AUC: rank by raw score, count each row as ``p`` of a positive and ``1 − p`` of a negative."""
    order = np.argsort(-scores, kind="stable")
    ranked, q = scores[order], p[order]
    positives, negatives = float(q.sum()), float((1.0 - q).sum())
    if positives <= 0 or negatives <= 0:
        return None
    last = np.r_[np.nonzero(np.diff(ranked))[0], ranked.size - 1]  # tied scores move the curve together
    tpr = np.r_[0.0, np.cumsum(q)[last] / positives]
    fpr = np.r_[0.0, np.cumsum(1.0 - q)[last] / negatives]
    return float(np.trapezoid(tpr, fpr))


def _rates(p: np.ndarray, positive: np.ndarray) -> tuple[float | None, float | None, float | None]:
    tp, fp, fn = float(p[positive].sum()), float((1.0 - p[positive]).sum()), float(p[~positive].sum())
    precision = tp / (tp + fp) if tp + fp > 0 else None
    recall = tp / (tp + fn) if tp + fn > 0 else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    return precision, recall, f1


def estimated_performance(
    frame: AuditFrame, ctx: DeploymentContext, *, window: str = "", n_windows: int = 12, min_rows: int = MIN_ROWS
) -> EstimatedPerformance | None:
    """Estimated accuracy of ``ctx``'s binary model over ``frame`` (its own answers, not fallbacks); None for other tasks."""
    if ctx.task != "binary":
        return None
    recorded = (ctx.record.metrics or {}).get("accuracy")
    validation = float(recorded) if isinstance(recorded, (int, float)) else None
    base: dict[str, Any] = {"name": ctx.name, "version_id": ctx.version_id, "validation": validation, "window": window}
    meta = frame.meta
    if len(meta):
        scores = meta["score"].to_numpy(dtype=float)
        mask = meta["output"].notna().to_numpy() & ~meta["fallback"].to_numpy(dtype=bool) & np.isfinite(scores)
    else:
        scores, mask = np.zeros(0), np.zeros(0, dtype=bool)
    n = int(mask.sum())
    if ctx.calibration is None:
        return EstimatedPerformance(**base, estimated=None, low=None, high=None, n=n, score=None, degraded=False, verdict="no_calibration")
    if n < min_rows:
        return EstimatedPerformance(**base, estimated=None, low=None, high=None, n=n, score=None, degraded=False, verdict="insufficient_data")
    p = calibrated(scores[mask], ctx.calibration)
    positive = matches(meta["output"][mask], ctx.positive_class)
    value, low, high = estimate_accuracy(p, positive)
    precision, recall, f1 = _rates(p, positive)
    roc_auc = estimate_roc_auc(scores[mask], p)
    ts = meta["ts"].to_numpy(dtype=float)[mask]
    start = frame.since if frame.since is not None else float(ts.min())
    end = frame.until if frame.until is not None else float(ts.max())
    windows = []
    for a, b in buckets(start, end, n_windows):
        part = (ts >= a) & ((ts < b) if b < end else (ts <= b))
        k = int(part.sum())
        if k >= min_rows:
            w_value, w_low, w_high = estimate_accuracy(p[part], positive[part])
            windows.append(MetricWindow(start=a, end=b, n=k, value=w_value, low=w_low, high=w_high))
        else:
            windows.append(MetricWindow(start=a, end=b, n=k))
    return _judged(base, validation, value, low, high, n, windows,
                   precision=precision, recall=recall, f1=f1, roc_auc=roc_auc)


def _binned(profile: Profile, ctx: DeploymentContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin centres (raw scores), counts and whether the decision was positive, of the model's scored answers."""
    from nb2prod.monitor.profile import SCORE_BINS

    positive = value_key(ctx.positive_class)
    centres, counts, flags = [np.zeros(0)], [np.zeros(0)], [np.zeros(0, dtype=bool)]
    for decision, bins in profile.score_bins.items():  # up to 4096 bins per decision and sub-window: as arrays, not a loop
        keys = np.fromiter(bins.keys(), dtype=float, count=len(bins))
        values = np.fromiter(bins.values(), dtype=float, count=len(bins))
        kept = values != 0
        centres.append((keys[kept] + 0.5) / SCORE_BINS)
        counts.append(values[kept])
        flags.append(np.full(int(kept.sum()), decision == positive))
    return np.concatenate(centres), np.concatenate(counts), np.concatenate(flags)


def _estimate_binned(p: np.ndarray, counts: np.ndarray, positive: np.ndarray) -> tuple[float, float, float]:
    right = np.where(positive, p, 1.0 - p)
    n = counts.sum()
    value = float(np.dot(counts, right) / n)
    half = _Z95 * float(np.sqrt(np.dot(counts, right * (1.0 - right)))) / n
    return value, max(0.0, value - half), min(1.0, value + half)


def _roc_binned(scores: np.ndarray, p: np.ndarray, counts: np.ndarray) -> float | None:
    order = np.argsort(-scores, kind="stable")
    ranked, q, w = scores[order], p[order], counts[order]
    positives, negatives = float(np.dot(w, q)), float(np.dot(w, 1.0 - q))
    if positives <= 0 or negatives <= 0:
        return None
    last = np.r_[np.nonzero(np.diff(ranked))[0], ranked.size - 1]
    tpr = np.r_[0.0, np.cumsum(w * q)[last] / positives]
    fpr = np.r_[0.0, np.cumsum(w * (1.0 - q))[last] / negatives]
    return float(np.trapezoid(tpr, fpr))


def estimated_performance_profile(
    window_profiles: ProfileWindow, ctx: DeploymentContext, *, version_id: str | None, window: str = "", n_windows: int = 12,
    min_rows: int = MIN_ROWS,
) -> EstimatedPerformance | None:
    """:func:`estimated_performance` from binned scores per decision (bins of 1/4096: the estimate moves by < 1e-3)."""
    if ctx.task != "binary":
        return None
    recorded = (ctx.record.metrics or {}).get("accuracy")
    validation = float(recorded) if isinstance(recorded, (int, float)) else None
    base: dict[str, Any] = {"name": ctx.name, "version_id": ctx.version_id, "validation": validation, "window": window}
    profile, _ = window_profiles.merged(version_id)
    scores, counts, positive = _binned(profile, ctx)
    n = int(counts.sum())
    if ctx.calibration is None:
        return EstimatedPerformance(**base, estimated=None, low=None, high=None, n=n, score=None, degraded=False, verdict="no_calibration")
    if n < min_rows:
        return EstimatedPerformance(**base, estimated=None, low=None, high=None, n=n, score=None, degraded=False, verdict="insufficient_data")
    p = calibrated(scores, ctx.calibration)
    value, low, high = _estimate_binned(p, counts, positive)
    tp, fp, fn = float(np.dot(counts[positive], p[positive])), float(np.dot(counts[positive], 1 - p[positive])), \
        float(np.dot(counts[~positive], p[~positive]))
    precision = tp / (tp + fp) if tp + fp > 0 else None
    recall = tp / (tp + fn) if tp + fn > 0 else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    roc_auc = _roc_binned(scores, p, counts)
    windows = []
    for a, b, part, _ in window_profiles.parts(n_windows, version_id):
        s, c, pos = _binned(part, ctx)
        k = int(c.sum())
        if k >= min_rows:
            w_value, w_low, w_high = _estimate_binned(calibrated(s, ctx.calibration), c, pos)
            windows.append(MetricWindow(start=a, end=b, n=k, value=w_value, low=w_low, high=w_high))
        else:
            windows.append(MetricWindow(start=a, end=b, n=k))
    return _judged(base, validation, value, low, high, n, windows,
                   precision=precision, recall=recall, f1=f1, roc_auc=roc_auc)


def _judged(
    base: dict[str, Any], validation: float | None, value: float, low: float, high: float, n: int,
    windows: list[MetricWindow], *, precision: float | None, recall: float | None, f1: float | None, roc_auc: float | None,
) -> EstimatedPerformance:
    """The estimate judged against the validation metric (the same verdict from rows or from profiles)."""
    score = degradation_score(validation, low, high, higher=True)
    degraded = bool(score is not None and score > 0)
    verdict = "no_validation_metric" if validation is None else "degraded" if degraded else "ok"
    return EstimatedPerformance(
        **base, estimated=value, low=low, high=high, n=n, score=score, degraded=degraded, verdict=verdict,
        precision=precision, recall=recall, f1=f1, roc_auc=roc_auc, windows=tuple(windows),
    )
