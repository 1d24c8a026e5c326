"""Data drift from reference sketches, vectorised with numpy/scipy.

Per numeric feature: two-sample Kolmogorov–Smirnov test (p-value; scipy's exact distribution
for references of ≤ 1000 rows — identical to ``ks_2samp`` and Evidently there — then scipy's
asymptotic ``kstwo`` up to an effective size of 2000, then the Kolmogorov limit with Stephens'
correction, within ~1% of ``kstwo`` and 30x faster), Wasserstein distance normed
by the reference std (effect size, as Evidently's ``wasserstein``), PSI on reference deciles.
Per categorical feature: scipy's chi-square test on the 2×k contingency table of reference and
current counts (both treated as samples — unlike Evidently's goodness-of-fit chi-square, which
treats reference frequencies as exact and over-alarms), Jensen–Shannon distance (effect size,
natural log as Evidently) and PSI.

A feature drifts when its Benjamini–Hochberg adjusted p-value is ≤ ``alpha`` (false discovery
rate control across features) *and* its effect size is ≥ ``min_effect`` (statistically and
practically significant). Dataset score = share of drifted features.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from nb2prod.errors import InvalidInputError
from nb2prod.models import DriftResult, FeatureDrift
from nb2prod.monitor.derived import derived_of
from nb2prod.monitor.drift_math import chi2_sf, jensen_shannon, kolmogorov_sf
from nb2prod.monitor.reference import category_key

if TYPE_CHECKING:
    import pandas as pd


__all__ = [
    "EXACT_KS_MAX_N", "QUANTILE_POINTS", "benjamini_hochberg", "categorical_drift", "categorical_drift_counts", "compute_drift",
    "drift_result", "ks_p_value", "numeric_drift", "numeric_drift_quantiles", "reference_shape", "with_arrays",
]

EXACT_KS_MAX_REF = 1_000  # up to here (Evidently's KS regime), scipy's exact two-sample distribution
EXACT_KS_MAX_N = 10_000  # … when the current window is not larger than this (scipy 'auto')
EXACT_KSTWO_MAX_EN = 2_000  # beyond this effective size, Stephens' approximation replaces scipy's slow kstwo
_PSI_EPS = 1e-4
QUANTILE_POINTS = 1024  # a sketch is read at this many mid-rank quantiles (adds ≤ 1/2048 to its rank error)


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), monotone and capped at 1."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def _psi(ref_props: np.ndarray, cur_props: np.ndarray) -> float:
    r = np.clip(ref_props, _PSI_EPS, None)
    c = np.clip(cur_props, _PSI_EPS, None)
    return float(np.sum((c - r) * np.log(c / r)))


class _Shape(NamedTuple):
    """What the statistics need of a numeric sketch beyond its grid and CDF; depends on the reference only."""

    prev: np.ndarray  # the CDF one grid point earlier (0 before the first)
    values: np.ndarray  # each reference piece's value for the Wasserstein integral
    lower: np.ndarray  # the CDF where each piece starts
    cut: np.ndarray  # PSI's decile cut points on the grid
    ref_props: np.ndarray  # the reference's share in each PSI bin


def _shape(grid: np.ndarray, cdf: np.ndarray, exact: bool) -> _Shape:
    values = grid.copy()
    if not exact and grid.size > 1:
        values[1:] = 0.5 * (grid[1:] + grid[:-1])
    prev = np.concatenate(([0.0], cdf[:-1]))
    cut = np.searchsorted(cdf, np.arange(1, 10) / 10 - 1e-12, side="left")
    cut = cut[np.concatenate(([True], np.diff(cut) > 0))]  # np.unique of this sorted array, without its import of numpy.ma
    cut = cut[cut < grid.size - 1]
    return _Shape(prev, values, prev, cut, np.diff(np.concatenate(([0.0], cdf[cut], [1.0]))))


def _wasserstein(sorted_cur: np.ndarray, values: np.ndarray, cdf: np.ndarray, lower: np.ndarray) -> float:
    """W1 = ∫|Q_ref(u) − Q_cur(u)| du, exact against the reference step quantile function.

    Reference piece j covers u ∈ (F_{j-1}, F_j] with value g_j (for a quantile grid, the
    midpoint of (g_{j-1}, g_j]). Each piece integrates in O(log n) with prefix sums of the
    sorted current values.
    """
    n = sorted_cur.size
    prefix = np.concatenate(([0.0], np.cumsum(sorted_cur)))
    split = np.searchsorted(sorted_cur, values, side="left")

    def cumulative(t: np.ndarray) -> np.ndarray:
        # ∫_0^t |c_j − Q_cur(u)| du for each piece constant c_j = values[j]
        m = np.clip(np.floor(t * n + 1e-9).astype(np.int64), 0, n)
        p = np.minimum(split, m)
        below = p * values - prefix[p]
        above = (prefix[m] - prefix[p]) - (m - p) * values
        full = (below + above) / n
        nxt = np.minimum(m, n - 1)
        partial = np.where(m < n, (t - m / n) * np.abs(values - sorted_cur[nxt]), 0.0)
        return full + partial

    return float(np.sum(cumulative(cdf) - cumulative(lower)))


def numeric_drift(sketch: dict[str, Any], values: np.ndarray) -> dict[str, float]:
    """KS statistic and p-value, normed Wasserstein and PSI of ``values`` against a numeric sketch."""
    finite = values[~np.isnan(values)]
    return _numeric_stats(sketch, np.sort(finite), int(finite.size), exact_values=True)


def numeric_drift_quantiles(sketch: dict[str, Any], quantiles: np.ndarray, n: int) -> dict[str, float]:
    """The same statistics from ``quantiles`` (sorted, at evenly spaced mid-ranks) of ``n`` live values — a sketch's view."""
    return _numeric_stats(sketch, np.asarray(quantiles, dtype=float), int(n), exact_values=False)


def reference_shape(sketch: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, _Shape]:
    """A numeric reference sketch's grid, CDF and derived arrays (kept on the sketch by :func:`with_arrays`)."""
    grid = np.asarray(sketch["grid"], dtype=float)
    cdf = np.asarray(sketch["cdf"], dtype=float)
    shape = sketch.get("_shape")
    if not isinstance(shape, _Shape):
        shape = _shape(grid, cdf, bool(sketch.get("exact")))
    return grid, cdf, shape


def ks_p_value(statistic: float, n_ref: int, n: int) -> float:
    """The KS p-value of ``statistic`` beyond the exact regime: scipy's kstwo up to an effective size of 2000, then
    the Kolmogorov limit with Stephens' finite-sample correction (within ~1% of kstwo)."""
    en = n_ref * n / (n_ref + n)
    if en <= EXACT_KSTWO_MAX_EN:  # scipy's own asymptotic form (kstwo is slow for large n)
        from scipy.stats import kstwo  # imported here only: ~0.7 s, and a window of thousands of rows never needs it

        return float(kstwo.sf(statistic, np.round(en)))
    root = np.sqrt(en)
    return kolmogorov_sf(float(statistic * (root + 0.12 + 0.11 / root)))  # kstwobign.sf


def _numeric_stats(sketch: dict[str, Any], ordered: np.ndarray, n: int, *, exact_values: bool) -> dict[str, float]:
    n_ref = int(sketch["n"])
    if n == 0 or n_ref == 0 or ordered.size == 0:
        return {"statistic": 0.0, "p_value": 1.0, "effect": 0.0, "psi": 0.0, "n": n}
    grid, cdf, shape = reference_shape(sketch)
    size = ordered.size
    le = np.searchsorted(ordered, grid, side="right") / size
    lt = np.searchsorted(ordered, grid, side="left") / size
    statistic = float(max(np.max(np.abs(cdf - le)), np.max(np.abs(shape.prev - lt))))
    if exact_values and bool(sketch.get("exact")) and n_ref <= EXACT_KS_MAX_REF and n <= EXACT_KS_MAX_N:
        from scipy.stats import ks_2samp  # only here: see ks_p_value

        counts = np.rint(np.diff(np.concatenate(([0.0], cdf))) * n_ref).astype(np.int64)
        result = ks_2samp(np.repeat(grid, counts), ordered)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    else:
        p_value = ks_p_value(statistic, n_ref, n)
    norm = max(float(sketch.get("std") or 0.0), 0.001)
    effect = _wasserstein(ordered, shape.values, cdf, shape.lower) / norm
    # PSI on reference deciles (grid points where the reference CDF first reaches k/10)
    cur_cdf = np.concatenate(([0.0], le[shape.cut], [1.0]))
    psi = _psi(shape.ref_props, np.diff(cur_cdf))
    return {"statistic": statistic, "p_value": min(max(p_value, 0.0), 1.0), "effect": float(effect), "psi": psi, "n": n}


def _chi2_two_rows(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """``scipy.stats.chi2_contingency`` of the 2×k table (Yates' correction when k = 2), without its per-call overhead.

    Same arithmetic as scipy's (expected counts from the margins, the same correction, ``chi2.sf``);
    a drift series calls it once per categorical column per point.
    """
    observed = np.vstack([ref, cur])
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    dof = observed.shape[1] - 1
    if dof == 1:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return statistic, chi2_sf(statistic, dof)


def _category_counts(series: pd.Series) -> dict[str, int]:
    counts = series.value_counts(dropna=True, sort=False)
    merged: dict[str, int] = {}
    for key, value in counts.items():
        label = category_key(key)
        merged[label] = merged.get(label, 0) + int(value)
    return merged


def categorical_drift(sketch: dict[str, Any], series: pd.Series) -> dict[str, Any]:
    """Contingency chi-square, Jensen–Shannon distance and PSI of ``series`` against category counts."""
    return categorical_drift_counts(sketch, _category_counts(series))


def categorical_drift_counts(sketch: dict[str, Any], cur_counts: dict[str, int]) -> dict[str, Any]:
    """The same statistics from the live count of each category."""
    ref_counts: dict[str, int] = sketch["counts"]
    n = int(sum(cur_counts.values()))
    n_ref = int(sketch["n"])
    unseen = tuple(sorted(k for k in cur_counts if k not in ref_counts))
    if n == 0 or n_ref == 0:
        return {"statistic": 0.0, "p_value": 1.0, "effect": 0.0, "psi": 0.0, "n": n, "unseen": unseen}
    keys = [k for k in ref_counts if ref_counts[k] > 0 or cur_counts.get(k, 0) > 0] + list(unseen)
    ref = np.array([ref_counts.get(k, 0) for k in keys], dtype=float)
    cur = np.array([cur_counts.get(k, 0) for k in keys], dtype=float)
    if len(keys) < 2:
        statistic, p_value = 0.0, 1.0
    else:
        statistic, p_value = _chi2_two_rows(ref, cur)
    effect = jensen_shannon(ref / ref.sum(), cur / cur.sum())
    psi = _psi(ref / ref.sum(), cur / cur.sum())
    return {"statistic": statistic, "p_value": p_value, "effect": effect, "psi": psi, "n": n, "unseen": unseen}


def compute_drift(
    reference: dict[str, Any],
    current: pd.DataFrame,
    *,
    name: str = "",
    version_id: str | None = None,
    window: str = "",
    alpha: float = 0.05,
    min_effect: float = 0.1,
    features: Sequence[str] | None = None,
    since: float | None = None,
    until: float | None = None,
) -> DriftResult:
    """Drift of ``current`` (live inputs) against the reference sketches, per feature and overall."""
    import pandas as pd

    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must be between 0 and 1, got {alpha}", fix="use e.g. 0.05")
    started = time.perf_counter()
    sketches: dict[str, Any] = reference["features"]
    names = [f for f in (features or list(sketches)) if f in sketches]
    if not names:
        raise InvalidInputError("no feature to compare with the reference", fix="check the feature names")
    # a datetime's parts, a text's lengths and out-of-vocabulary share, as the profiles fold them
    current = derived_of(current, names, reference.get("vocabularies"))
    rows: list[dict[str, Any]] = []
    for feature in names:
        sketch = sketches[feature]
        column = current[feature] if feature in current.columns else pd.Series([], dtype=float)
        total = int(column.size)
        if sketch["kind"] == "numeric":
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            stats: dict[str, Any] = {**numeric_drift(sketch, values), "unseen": ()}
            test, effect_name = "ks", "wasserstein_norm"
        else:
            stats = categorical_drift(sketch, column)
            test, effect_name = "chi2", "jensen_shannon"
        missing_cur = (total - stats["n"]) / total if total else 0.0  # counted rows exclude missing values
        rows.append(
            {
                "feature": feature,
                "kind": sketch["kind"],
                "test": test,
                "effect_name": effect_name,
                "missing_reference": float(sketch.get("missing", 0.0)),
                "missing_current": missing_cur,
                "n_reference": int(sketch["n"]),
                **stats,
            }
        )
    return drift_result(rows, reference, n_current=len(current), name=name, version_id=version_id, window=window,
                         alpha=alpha, min_effect=min_effect, since=since, until=until, started=started)


def with_arrays(reference: dict[str, Any]) -> dict[str, Any]:
    """``reference`` with each numeric sketch's grid and CDF as arrays (a shallow copy; the file's dict is unchanged).

    A drift series compares many sub-windows with the same reference: converting its lists once,
    not once per sub-window and feature, is a fifth of the series' cost.
    """
    features = {}
    for name, sketch in reference["features"].items():
        if sketch.get("kind") == "numeric" and not isinstance(sketch.get("_shape"), _Shape):
            grid, cdf = np.asarray(sketch["grid"], dtype=float), np.asarray(sketch["cdf"], dtype=float)
            sketch = {**sketch, "grid": grid, "cdf": cdf, "_shape": _shape(grid, cdf, bool(sketch.get("exact")))}
        features[name] = sketch
    return {**reference, "features": features}


def drift_result(
    rows: list[dict[str, Any]], reference: dict[str, Any], *, n_current: int, name: str, version_id: str | None, window: str,
    alpha: float, min_effect: float, since: float | None, until: float | None, started: float,
) -> DriftResult:
    q_values = benjamini_hochberg([r["p_value"] for r in rows])
    results = []
    for row, q in zip(rows, q_values, strict=True):
        drifted = bool(row["n"] > 0 and q <= alpha and row["effect"] >= min_effect)
        results.append(
            FeatureDrift(
                feature=row["feature"],
                kind=row["kind"],
                test=row["test"],
                statistic=float(row["statistic"]),
                p_value=float(row["p_value"]),
                q_value=float(q),
                effect_name=row["effect_name"],
                effect=float(row["effect"]),
                psi=float(row["psi"]),
                drifted=drifted,
                n_reference=row["n_reference"],
                n_current=int(row["n"]),
                missing_reference=row["missing_reference"],
                missing_current=row["missing_current"],
                unseen=tuple(row["unseen"]),
            )
        )
    n_drifted = sum(f.drifted for f in results)
    return DriftResult(
        name=name,
        version_id=version_id,
        window=window,
        n_reference=int(reference.get("n_rows", 0)),
        n_current=n_current,
        features=tuple(results),
        score=n_drifted / len(results),
        detected=n_drifted > 0,
        alpha=alpha,
        min_effect=min_effect,
        since=since,
        until=until,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )
