"""Fairness per protected attribute: favourable-outcome (selection) rates and error rates per group.

Disparate-impact ratio = lowest / highest group selection rate, with a 95% interval (Katz log
method between those two groups); the four-fifths rule flags ratios below 0.8. No verdict is
given while any group has fewer than ``min_group_size`` predictions.

Rates are computed with numpy (fairlearn's MetricFrame took ~0.9 s per 10k rows here, too slow
for a live refresh); ``tests/monitor`` checks they equal fairlearn's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from nb2prod.models import FairnessAttribute, FairnessResult, GroupRates, MetricWindow
from nb2prod.monitor.frames import AuditFrame, DeploymentContext, matches, value_key
from nb2prod.monitor.metrics import wilson_interval
from nb2prod.monitor.windows import buckets

if TYPE_CHECKING:
    from nb2prod.monitor.profile import Profile
    from nb2prod.monitor.profile_window import ProfileWindow

__all__ = ["FOUR_FIFTHS", "MIN_GROUP_SIZE", "disparate_impact", "fairness", "fairness_profile"]

FOUR_FIFTHS = 0.8
MIN_GROUP_SIZE = 30
_Z = 1.959963984540054


def disparate_impact(selected: np.ndarray, groups: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Ratio lowest/highest selection rate and its 95% Katz interval (``None`` when undefined)."""
    rates = []
    for g in np.unique(groups):
        mask = groups == g
        rates.append((float(selected[mask].mean()), int(mask.sum())))
    return _di_from_rates(rates)


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


def _di_from_rates(rates: list[tuple[float, int]]) -> tuple[float | None, float | None, float | None]:
    """Disparate-impact ratio of the lowest to the highest (rate, n) and its 95 % CI (log-ratio normal approximation)."""
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


def _di_from_counts(counts: dict[str, tuple[int, int]]) -> tuple[float | None, float | None, float | None]:
    """:func:`disparate_impact` from (favourable, n) per group."""
    rates = [(k / n, n) for k, n in counts.values() if n]
    return _di_from_rates(rates)


def _selection(profile: Profile, attribute: str, favorable: str | None) -> dict[str, tuple[int, int]] | None:
    column = profile.columns.get(attribute)
    if column is None or column.groups is None:
        return None
    out: dict[str, tuple[int, int]] = {}
    for (group, decision), count in column.groups.items():
        k, n = out.get(group, (0, 0))
        out[group] = (k + (count if decision == favorable else 0), n + count)
    return out


def _attribute_profile(
    attribute: str, window_profiles: ProfileWindow, version_id: str | None, ctx: DeploymentContext, min_group_size: int,
    n_windows: int,
) -> FairnessAttribute | None:
    profile, labels = window_profiles.merged(version_id)
    favorable, positive = value_key(ctx.favorable), value_key(ctx.positive_class)
    selection = _selection(profile, attribute, favorable)
    if not selection:
        return None
    joint: Mapping[tuple[str, str, str], int] = labels.groups.get(attribute, {})
    rows = []
    for g in sorted(selection):
        k, n = selection[g]
        low, high = wilson_interval(k, n)
        lab = {(y, d): c for (group, y, d), c in joint.items() if group == g and c}
        n_lab = sum(lab.values())
        tp = sum(c for (y, d), c in lab.items() if y == positive and d == positive)
        fp = sum(c for (y, d), c in lab.items() if y != positive and d == positive)
        positives = sum(c for (y, _), c in lab.items() if y == positive)
        negatives = n_lab - positives
        errors = sum(c for (y, d), c in lab.items() if (y == positive) != (d == positive))
        e_low, e_high = wilson_interval(errors, n_lab) if n_lab else (None, None)
        rows.append(GroupRates(
            group=g, n=n, selection_rate=k / n if n else 0.0, selection_low=low, selection_high=high, n_labelled=n_lab,
            tpr=tp / positives if positives else None, fpr=fp / negatives if negatives else None,
            error_rate=errors / n_lab if n_lab else None, error_low=e_low, error_high=e_high,
        ))
    ratio, di_low, di_high = _di_from_counts(selection)
    if len(rows) < 2 or min(r.n for r in rows) < min_group_size or ratio is None:
        verdict = "insufficient_data"
    else:
        verdict = "adverse_impact" if ratio < FOUR_FIFTHS else "ok"
    timeline = []
    for a, b, part, _ in window_profiles.parts(n_windows, version_id):
        counts = _selection(part, attribute, favorable) or {}
        n_part = sum(n for _, n in counts.values())
        if len(counts) == len(selection) and min((n for _, n in counts.values()), default=0) >= min_group_size:
            r, lo, hi = _di_from_counts(counts)
            timeline.append(MetricWindow(start=a, end=b, n=n_part, value=r, low=lo, high=hi))
        else:
            timeline.append(MetricWindow(start=a, end=b, n=n_part))
    return FairnessAttribute(
        attribute=attribute, groups=tuple(rows), di_ratio=ratio, di_low=di_low, di_high=di_high, verdict=verdict,
        min_group_size=min_group_size, timeline=tuple(timeline),
    )


def fairness_profile(
    window_profiles: ProfileWindow,
    ctx: DeploymentContext,
    *,
    version_id: str | None,
    window: str = "",
    min_group_size: int = MIN_GROUP_SIZE,
    n_windows: int = 12,
) -> FairnessResult:
    """:func:`fairness` from bucket profiles: decisions and labels counted per group of each text or bool attribute."""
    n = window_profiles.merged(version_id)[0].n
    if ctx.task == "regression":
        return FairnessResult(name=ctx.name, window=window, favorable=None, n=n, attributes=())
    attributes = [
        found for attribute in ctx.protected
        if (found := _attribute_profile(attribute, window_profiles, version_id, ctx, min_group_size, n_windows)) is not None
    ]
    return FairnessResult(name=ctx.name, window=window, favorable=ctx.favorable, n=n, attributes=tuple(attributes))
