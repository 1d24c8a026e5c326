"""Model-quality metrics and their bootstrap confidence intervals, vectorised over replicates.

Each metric takes arrays whose *last* axis holds the examples, so one call scores every
bootstrap replicate at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["HIGHER_IS_BETTER", "METRICS", "bootstrap_ci", "score_metric", "wilson_interval"]

Metric = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _accuracy(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> np.ndarray:
    return np.mean(y == pred, axis=-1)


def _error_rate(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> np.ndarray:
    return np.mean(y != pred, axis=-1)


def _roc_auc(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    ranks = rankdata(score, axis=-1)
    pos = np.sum(y, axis=-1)
    neg = y.shape[-1] - pos
    sum_pos = np.sum(np.where(y, ranks, 0.0), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (sum_pos - pos * (pos + 1) / 2) / (pos * neg)
    return np.where((pos > 0) & (neg > 0), auc, np.nan)


def _f1(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> np.ndarray:
    tp = np.sum(y & pred, axis=-1)
    fp = np.sum(~y & pred, axis=-1)
    fn = np.sum(y & ~pred, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)


def _balanced_accuracy(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.sum(y & pred, axis=-1) / np.sum(y, axis=-1)
        tnr = np.sum(~y & ~pred, axis=-1) / np.sum(~y, axis=-1)
    return (tpr + tnr) / 2


def _mae(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> np.ndarray:
    return np.mean(np.abs(y - pred), axis=-1)


def _rmse(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean((y - pred) ** 2, axis=-1))


def _r2(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> np.ndarray:
    ss_res = np.sum((y - pred) ** 2, axis=-1)
    ss_tot = np.sum((y - np.mean(y, axis=-1, keepdims=True)) ** 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.nan)


METRICS: dict[str, Metric] = {
    "accuracy": _accuracy,
    "error_rate": _error_rate,
    "roc_auc": _roc_auc,
    "f1": _f1,
    "balanced_accuracy": _balanced_accuracy,
    "mae": _mae,
    "rmse": _rmse,
    "r2": _r2,
}
HIGHER_IS_BETTER = {"accuracy": True, "roc_auc": True, "f1": True, "balanced_accuracy": True, "r2": True,
                    "error_rate": False, "mae": False, "rmse": False}


def score_metric(metric: str, y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> float | None:
    value = float(METRICS[metric](y, pred, score))
    return None if np.isnan(value) else value


def bootstrap_ci(
    metric: str,
    y: np.ndarray,
    pred: np.ndarray,
    score: np.ndarray,
    *,
    replicates: int = 300,
    level: float = 0.95,
    seed: int = 0,
    max_cells: int = 3_000_000,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of ``metric`` (replicates capped so B × n ≤ ``max_cells``)."""
    n = y.shape[-1]
    if n < 2:
        return None, None
    b = max(50, min(replicates, max_cells // n))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(b, n))
    values = METRICS[metric](y[idx], pred[idx], score[idx])
    values = values[~np.isnan(values)]
    if values.size < 10:
        return None, None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a proportion (well-behaved near 0 and 1 and for small n)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
