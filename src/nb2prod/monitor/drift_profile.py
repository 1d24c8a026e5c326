"""Drift of merged profiles against the reference sketches: one window, or a series of sub-windows at once.

A drift series compares 24 or so sub-windows with one reference, and a sketch of a sub-window is
read at the same :data:`~nb2prod.monitor.drift.QUANTILE_POINTS` levels as any other. So each
numeric feature's statistics are computed for all sub-windows together, one row of an array per
sub-window — the arithmetic of :func:`nb2prod.monitor.drift.numeric_drift_quantiles` row by row
(the same values), in a few array operations instead of a few dozen per sub-window and feature.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nb2prod.errors import InvalidInputError
from nb2prod.models import DriftResult
from nb2prod.monitor.drift import (
    QUANTILE_POINTS,
    categorical_drift_counts,
    drift_result,
    ks_p_value,
    numeric_drift,
    numeric_drift_quantiles,
    reference_shape,
)

if TYPE_CHECKING:
    from nb2prod.monitor.profile import Profile
    from nb2prod.monitor.profile_columns import ColumnSummary

__all__ = ["compute_drift_profile", "compute_drift_profiles"]

_LEVELS = (np.arange(QUANTILE_POINTS) + 0.5) / QUANTILE_POINTS
_PSI_EPS = 1e-4  # as nb2prod.monitor.drift._psi


def compute_drift_profile(
    reference: dict[str, Any],
    profile: Profile,
    *,
    name: str = "",
    version_id: str | None = None,
    window: str = "",
    alpha: float = 0.05,
    min_effect: float = 0.1,
    since: float | None = None,
    until: float | None = None,
) -> DriftResult:
    """Drift of a merged profile of live inputs against the reference sketches (cost independent of rows)."""
    return compute_drift_profiles(reference, [profile], name=name, version_id=version_id, window=window, alpha=alpha,
                                  min_effect=min_effect, bounds=[(since, until)])[0]


def compute_drift_profiles(
    reference: dict[str, Any],
    profiles: Sequence[Profile],
    *,
    name: str = "",
    version_id: str | None = None,
    window: str = "",
    alpha: float = 0.05,
    min_effect: float = 0.1,
    bounds: Sequence[tuple[float | None, float | None]] | None = None,
) -> list[DriftResult]:
    """:func:`compute_drift_profile` of each of ``profiles`` (``bounds``: each one's since and until)."""
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must be between 0 and 1, got {alpha}", fix="use e.g. 0.05")
    started = time.perf_counter()
    sketches: dict[str, Any] = reference["features"]
    if not sketches:
        raise InvalidInputError("no feature to compare with the reference", fix="check the feature names")
    spans = list(bounds) if bounds is not None else [(None, None)] * len(profiles)
    by_feature: dict[str, list[dict[str, Any]]] = {}
    for feature, sketch in sketches.items():
        columns = [p.columns.get(feature) for p in profiles]
        if sketch["kind"] == "numeric":
            by_feature[feature] = _numeric_column(sketch, columns)
        else:
            by_feature[feature] = [categorical_drift_counts(sketch, c.category_counts() if c is not None else {}) for c in columns]
    out = []
    for i, profile in enumerate(profiles):
        total = profile.n
        rows = []
        for feature, sketch in sketches.items():
            stats = by_feature[feature][i]
            numeric = sketch["kind"] == "numeric"
            rows.append({
                "feature": feature, "kind": sketch["kind"], "test": "ks" if numeric else "chi2",
                "effect_name": "wasserstein_norm" if numeric else "jensen_shannon",
                "missing_reference": float(sketch.get("missing", 0.0)),
                "missing_current": (total - stats["n"]) / total if total else 0.0,
                "n_reference": int(sketch["n"]), **stats,
            })
        since, until = spans[i]
        out.append(drift_result(rows, reference, n_current=total, name=name, version_id=version_id, window=window, alpha=alpha,
                                min_effect=min_effect, since=since, until=until, started=started))
    return out


def _numeric_column(sketch: dict[str, Any], columns: Sequence[ColumnSummary | None]) -> list[dict[str, Any]]:
    """One numeric feature's statistics in each profile: sketches past their exact mode together, the others alone."""
    out: list[dict[str, Any] | None] = [None] * len(columns)
    together: list[int] = []
    quantiles: list[Any] = []
    counts: list[int] = []
    for i, column in enumerate(columns):
        kll = column.sketch if column is not None else None
        if kll is None:
            out[i] = {**numeric_drift(sketch, np.zeros(0)), "unseen": ()}
        elif not kll.is_estimation_mode():  # still holds every value: the exact statistics
            values = np.fromiter((item for item, _ in kll), dtype=float)
            out[i] = {**numeric_drift(sketch, values), "unseen": ()}
        elif int(sketch["n"]) == 0:  # nothing to compare with: no drift
            out[i] = {**numeric_drift_quantiles(sketch, np.zeros(0), int(kll.n)), "unseen": ()}
        else:
            together.append(i)
            quantiles.append(kll.get_quantiles(_LEVELS))
            counts.append(int(kll.n))
    if together:
        for i, stats in zip(together, _quantile_rows(sketch, np.asarray(quantiles, dtype=float), counts), strict=True):
            out[i] = {**stats, "unseen": ()}
    return [stats for stats in out if stats is not None]


def _quantile_rows(sketch: dict[str, Any], ordered: np.ndarray, counts: list[int]) -> list[dict[str, Any]]:
    """KS statistic and p-value, normed Wasserstein and PSI of each row of ``ordered`` (a sketch's sorted quantiles
    of ``counts[i]`` live values) — :func:`nb2prod.monitor.drift.numeric_drift_quantiles` of each row."""
    n_ref = int(sketch["n"])
    grid, cdf, shape = reference_shape(sketch)
    size = ordered.shape[1]
    le = np.stack([np.searchsorted(row, grid, side="right") for row in ordered]) / size
    lt = np.stack([np.searchsorted(row, grid, side="left") for row in ordered]) / size
    statistics = np.maximum(np.max(np.abs(cdf - le), axis=1), np.max(np.abs(shape.prev - lt), axis=1))
    norm = max(float(sketch.get("std") or 0.0), 0.001)
    effects = _wasserstein_rows(ordered, shape.values, cdf, shape.lower) / norm
    cur = np.diff(np.concatenate([np.zeros((len(counts), 1)), le[:, shape.cut], np.ones((len(counts), 1))], axis=1), axis=1)
    r = np.clip(shape.ref_props, _PSI_EPS, None)
    c = np.clip(cur, _PSI_EPS, None)
    terms = (c - r) * np.log(c / r)
    psis = np.array([np.sum(row) for row in terms])  # row by row: a sum over ten bins across axis 1 may round differently
    out = []
    for statistic, effect, psi, n in zip(statistics.tolist(), effects.tolist(), psis.tolist(), counts, strict=True):
        p_value = ks_p_value(statistic, n_ref, n)
        out.append({"statistic": statistic, "p_value": min(max(p_value, 0.0), 1.0), "effect": effect, "psi": psi, "n": n})
    return out


def _wasserstein_rows(ordered: np.ndarray, values: np.ndarray, cdf: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """``nb2prod.monitor.drift._wasserstein`` of each row of ``ordered`` (all of one length) against one reference."""
    n = ordered.shape[1]
    prefix = np.zeros((ordered.shape[0], n + 1))
    np.cumsum(ordered, axis=1, out=prefix[:, 1:])
    split = np.stack([np.searchsorted(row, values, side="left") for row in ordered])

    def cumulative(t: np.ndarray) -> np.ndarray:
        m = np.clip(np.floor(t * n + 1e-9).astype(np.int64), 0, n)  # the same for every row: rows are all n long
        p = np.minimum(split, m)
        at_p = np.take_along_axis(prefix, p, axis=1)
        below = p * values - at_p
        above = (prefix[:, m] - at_p) - (m - p) * values
        full = (below + above) / n
        nxt = np.minimum(m, n - 1)
        partial = np.where(m < n, (t - m / n) * np.abs(values - ordered[:, nxt]), 0.0)
        return full + partial

    return np.sum(cumulative(cdf) - cumulative(lower), axis=1)
