"""The special functions a drift read needs, in numpy: Kolmogorov and chi-square tails, Jensen–Shannon distance.

Importing ``scipy.special`` (and ``scipy.spatial`` for ``jensenshannon``) costs 0.3–0.7 s, which was
most of what a fresh process's first monitoring read paid (the dashboard's first call after a
restart). These three are short closed forms with the same values as scipy's to rounding
(tests/monitor/test_drift_math.py compares them); scipy's other tests stay in scipy, imported only
on the paths that use them.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["chi2_sf", "jensen_shannon", "kolmogorov_sf"]

_CUTOVER = 0.82  # below: the CDF's theta series (fast there); above: the survival series (as scipy's kolmogorov)
_TERMS = np.arange(1, 13, dtype=float)


def kolmogorov_sf(x: float) -> float:
    """``scipy.special.kolmogorov(x)``: P(K > x) of the Kolmogorov distribution."""
    if not x > 0:
        return 1.0 if not math.isnan(x) else math.nan
    if x <= _CUTOVER:
        # P(K ≤ x) = √(2π)/x · Σ exp(−(2k−1)²π²/(8x²)); its first terms decide, the rest underflow
        odd = 2 * _TERMS - 1
        cdf = math.sqrt(2 * math.pi) / x * float(np.sum(np.exp(-odd * odd * (math.pi**2 / (8 * x * x)))))
        return min(max(1.0 - cdf, 0.0), 1.0)
    # P(K > x) = 2 Σ (−1)^(k−1) exp(−2k²x²), terms falling below 1e-30 of the first within 6 terms
    signs = np.where(_TERMS % 2 == 1, 1.0, -1.0)
    sf = 2.0 * float(np.sum(signs * np.exp(-2.0 * _TERMS * _TERMS * x * x)))
    return min(max(sf, 0.0), 1.0)


def chi2_sf(statistic: float, dof: int) -> float:
    """``scipy.special.chdtrc(dof, statistic)``: P(χ²(dof) > statistic) for a whole number of degrees of freedom.

    The upper regularized gamma Q(dof/2, statistic/2) by its finite sums: Q(m, x) = e^(−x) Σ_{j<m} x^j/j!
    for whole m, Q(m + ½, x) = erfc(√x) + e^(−x) Σ_{j<m} x^(j+½)/Γ(j+3/2) — each term in logs, so
    neither a large statistic nor many categories overflow.
    """
    if dof < 1:
        raise ValueError(f"degrees of freedom must be a positive whole number, got {dof}")
    if math.isnan(statistic):
        return math.nan
    if statistic <= 0:
        return 1.0
    x = statistic / 2.0
    half = dof % 2 == 1
    j = np.arange(dof // 2, dtype=float)
    powers = j + 0.5 if half else j
    log_terms = powers * math.log(x) - x - np.array([math.lgamma(p + 1.0) for p in powers])
    total = float(np.sum(np.exp(log_terms))) if j.size else 0.0
    if half:
        total += math.erfc(math.sqrt(x))
    return min(max(total, 0.0), 1.0)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """``scipy.spatial.distance.jensenshannon(p, q)`` (natural log): both normalised to sum 1 first."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0
    divergence = _relative_entropy(p, m) + _relative_entropy(q, m)
    return float(np.sqrt(divergence / 2.0))


def _relative_entropy(a: np.ndarray, m: np.ndarray) -> float:
    """Σ ``scipy.special.rel_entr(a, m)``: a·log(a/m), 0 where a is 0 (m ≥ a/2 > 0 wherever a > 0)."""
    present = a > 0
    safe = np.where(present, a, 1.0) / np.where(present, m, 1.0)
    return float(np.sum(np.where(present, a * np.log(safe), 0.0)))  # zeros kept: the same sum as scipy's
