"""Fairness per protected attribute: favourable-outcome (selection) rates and error rates per group.

Disparate-impact ratio = lowest / highest group selection rate, with a 95% interval (Katz log
method between those two groups); the four-fifths rule flags ratios below 0.8. No verdict is
given while any group has fewer than ``min_group_size`` predictions.

Rates are computed with numpy (fairlearn's MetricFrame took ~0.9 s per 10k rows here, too slow
for a live refresh); ``tests/monitor`` checks they equal fairlearn's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nb2prod.models import FairnessAttribute, FairnessResult, GroupRates, MetricWindow
from nb2prod.monitor.frames import AuditFrame, DeploymentContext, matches
from nb2prod.monitor.metrics import wilson_interval
from nb2prod.monitor.windows import buckets

__all__ = ["FOUR_FIFTHS", "MIN_GROUP_SIZE", "disparate_impact", "fairness"]

FOUR_FIFTHS = 0.8
MIN_GROUP_SIZE = 30
_Z = 1.959963984540054


def disparate_impact(selected: np.ndarray, groups: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Ratio lowest/highest selection rate and its 95% Katz interval (``None`` when undefined)."""
    rates = []
    for g in np.unique(groups):
        mask = groups == g
        rates.append((float(selected[mask].mean()), int(mask.sum())))
    if len(rates) < 2:
        return None, None, None
    low_rate, n_low = min(rates)
    high_rate, n_high = max(rates)
    if high_rate == 0:
        return None, None, None
    ratio = low_rate / high_rate
    if low_rate == 0:
        return ratio, 0.0, None
    se = np.sqrt((1 - low_rate) / (n_low * low_rate) + (1 - high_rate) / (n_high * high_rate))
    return ratio, float(ratio * np.exp(-_Z * se)), float(min(ratio * np.exp(_Z * se), 1e9))


def _attribute(
    attribute: str, frame: AuditFrame, ctx: DeploymentContext, min_group_size: int, n_windows: int
) -> FairnessAttribute | None:
    if attribute not in frame.inputs.columns:
        return None
    answered = frame.meta["output"].notna().to_numpy()
    groups_all = frame.inputs[attribute].astype(str).to_numpy()
    outputs = frame.meta["output"].to_numpy()
    groups = groups_all[answered]
    favorable = matches(outputs[answered], ctx.favorable)
    if groups.size == 0:
        return None
    labelled = frame.meta["has_label"].to_numpy(dtype=bool)[answered]
    y_true = matches(frame.meta["label"].to_numpy()[answered], ctx.positive_class)
    y_pred = matches(outputs[answered], ctx.positive_class)
    rows = []
    for g in sorted(set(groups.tolist())):
        mask = groups == g
        n = int(mask.sum())
        k = int(favorable[mask].sum())
        low, high = wilson_interval(k, n)
        lab = mask & labelled
        n_lab = int(lab.sum())
        positives, negatives = int((lab & y_true).sum()), int((lab & ~y_true).sum())
        errors = int((lab & (y_true != y_pred)).sum())
        e_low, e_high = wilson_interval(errors, n_lab) if n_lab else (None, None)
        rows.append(
            GroupRates(
                group=str(g), n=n, selection_rate=k / n if n else 0.0, selection_low=low, selection_high=high,
                n_labelled=n_lab,
                tpr=int((lab & y_true & y_pred).sum()) / positives if positives else None,
                fpr=int((lab & ~y_true & y_pred).sum()) / negatives if negatives else None,
                error_rate=errors / n_lab if n_lab else None, error_low=e_low, error_high=e_high,
            )
        )
    ratio, di_low, di_high = disparate_impact(favorable, groups)
    if len(rows) < 2 or min(r.n for r in rows) < min_group_size or ratio is None:
        verdict = "insufficient_data"
    else:
        verdict = "adverse_impact" if ratio < FOUR_FIFTHS else "ok"
    timeline = []
    ts = frame.meta["ts"].to_numpy(dtype=float)[answered]
    start = frame.since if frame.since is not None else float(ts.min())
    end = frame.until if frame.until is not None else float(ts.max())
    for a, b in buckets(start, end, n_windows):
        mask = (ts >= a) & ((ts < b) if b < end else (ts <= b))
        sub = groups[mask]
        counts = [int((sub == g).sum()) for g in np.unique(groups)]
        if min(counts, default=0) >= min_group_size:
            r, lo, hi = disparate_impact(favorable[mask], sub)
            timeline.append(MetricWindow(start=a, end=b, n=int(mask.sum()), value=r, low=lo, high=hi))
        else:
            timeline.append(MetricWindow(start=a, end=b, n=int(mask.sum())))
    return FairnessAttribute(
        attribute=attribute, groups=tuple(rows), di_ratio=ratio, di_low=di_low, di_high=di_high, verdict=verdict,
        min_group_size=min_group_size, timeline=tuple(timeline),
    )


def fairness(
    frame: AuditFrame,
    ctx: DeploymentContext,
    *,
    window: str = "",
    protected: tuple[str, ...] | None = None,
    favorable: Any = None,
    min_group_size: int = MIN_GROUP_SIZE,
    n_windows: int = 12,
) -> FairnessResult:
    """Selection and error rates per group of each protected attribute, and the disparate-impact verdict.

    A regression deployment has no decisions to select with: the result has no attributes.
    """
    import dataclasses

    if favorable is not None:
        ctx = dataclasses.replace(ctx, favorable=favorable)
    if ctx.task == "regression":  # selection and error rates need a classifier's decisions
        return FairnessResult(name=ctx.name, window=window, favorable=None, n=len(frame), attributes=())
    attributes = []
    for attribute in protected if protected is not None else ctx.protected:
        found = _attribute(attribute, frame, ctx, min_group_size, n_windows)
        if found is not None:
            attributes.append(found)
    return FairnessResult(name=ctx.name, window=window, favorable=ctx.favorable, n=len(frame), attributes=tuple(attributes))
