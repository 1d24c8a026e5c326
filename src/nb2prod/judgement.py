"""One judgement per monitored metric, shared by every view (widget, dashboard, side panels).

A view that colours a metric takes its state from here, so a badge never disagrees with its tab
and a small sample reads "not enough data (n=…)" everywhere instead of a number in red.
States: ``ok``, ``warn``, ``firing`` (act on it) and ``insufficient`` (too few rows to judge).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from nb2prod.models import MonitorReport, Record

__all__ = ["MIN_ROWS", "Judgement", "State", "judge"]

State = Literal["ok", "warn", "firing", "insufficient"]

MIN_ROWS = 30  # below this many rows a rate or a drift test says nothing reliable
ERROR_FIRING = 0.05  # share of failed requests that needs action
FALLBACK_FIRING = 0.05


@dataclasses.dataclass(frozen=True, slots=True)
class Judgement(Record):
    """The state of one metric, the value as shown, the rows behind it and why."""

    metric: str
    state: State
    value: str
    n: int
    reason: str


def _few(metric: str, n: int, what: str) -> Judgement:
    return Judgement(metric, "insufficient", f"not enough data (n={n})", n, f"fewer than {MIN_ROWS} {what} in the window")


def _ci(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if low is None or high is None else f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _drift(report: MonitorReport) -> Judgement:
    d = report.drift
    if d is None:
        return Judgement("drift", "insufficient", "no reference or no rows", report.n, "; ".join(report.notes) or "nothing to compare")
    if d.n_current < MIN_ROWS:
        return _few("drift", d.n_current, "predictions")
    drifted = len(d.drifted)
    value = f"{d.score:.2f} ({drifted}/{len(d.features)} features)"
    if d.detected:
        return Judgement("drift", "firing", value, d.n_current, "dataset drift: enough features drifted")
    if drifted:
        return Judgement("drift", "warn", value, d.n_current, "some features drifted")
    return Judgement("drift", "ok", value, d.n_current, "no feature drifted")


def _live(report: MonitorReport) -> Judgement:
    c = report.concept
    if c is None or c.n_labelled == 0:
        return Judgement("live", "insufficient", "no labels yet", 0, "no feedback labels in the window")
    if c.n_labelled < MIN_ROWS or c.live is None or c.verdict not in {"ok", "degraded"}:
        return _few("live", c.n_labelled, "labelled predictions")
    value = f"{_ci(c.live, c.live_low, c.live_high)} vs validation {_ci(c.validation, None, None)}"
    if c.degraded:
        return Judgement("live", "firing", value, c.n_labelled, f"live {c.metric} is significantly below validation")
    return Judgement("live", "ok", value, c.n_labelled, f"live {c.metric} is in line with validation")


def _estimated(report: MonitorReport, live: Judgement) -> Judgement:
    e = report.estimated
    if e is None:
        return Judgement("estimated", "insufficient", "no scores", 0, "the model gives no scores")
    if e.verdict in {"no_calibration", "no_validation_metric"}:
        return Judgement("estimated", "insufficient", e.verdict.replace("_", " "), e.n, "cannot estimate without a calibration map")
    if e.n < MIN_ROWS or e.estimated is None:
        return _few("estimated", e.n, "scored predictions")
    value = _ci(e.estimated, e.low, e.high)
    if live.state in {"ok", "firing"}:
        # Real labels outrank an estimate: the estimate takes the labelled judgement, never contradicts it.
        return Judgement("estimated", live.state, value, e.n, f"judged by {live.n} real labels, not by the estimate")
    if e.degraded:
        return Judgement("estimated", "firing", value, e.n, f"estimated {e.metric} is significantly below validation")
    return Judgement("estimated", "ok", value, e.n, f"estimated {e.metric} is in line with validation")


def _fairness(report: MonitorReport) -> Judgement | None:
    f = report.fairness
    if f is None:
        return None
    judged = [a for a in f.attributes if a.verdict != "insufficient_data" and a.di_ratio is not None]
    if not judged:
        return _few("fairness", f.n, "rows per group")
    worst = min(judged, key=lambda a: a.di_ratio or 0.0)
    value = f"{worst.di_ratio:.2f} ({worst.attribute})"
    if any(a.verdict == "adverse_impact" for a in judged):
        return Judgement("fairness", "firing", value, f.n, "a group's selection rate is below four fifths of another's")
    return Judgement("fairness", "ok", value, f.n, "four-fifths rule holds")


def _rate(metric: str, rate: float, n: int, firing: float, what: str) -> Judgement:
    if n < MIN_ROWS:
        return _few(metric, n, "requests")
    value = f"{100 * rate:.1f}%"
    if rate >= firing:
        return Judgement(metric, "firing", value, n, f"{what} at or above {100 * firing:.0f}%")
    if rate > 0:
        return Judgement(metric, "warn", value, n, f"some {what}")
    return Judgement(metric, "ok", value, n, f"no {what}")


def judge(report: MonitorReport) -> dict[str, Judgement]:
    """``drift``, ``live``, ``estimated``, ``fairness`` (when protected attributes are set), ``errors`` and ``fallback``."""
    live = _live(report)
    o = report.operations.overall
    out = {"drift": _drift(report), "live": live, "estimated": _estimated(report, live)}
    fair = _fairness(report)
    if fair is not None:
        out["fairness"] = fair
    out["errors"] = _rate("errors", o.error_rate, o.n, ERROR_FIRING, "failed requests")
    out["fallback"] = _rate("fallback", o.fallback_rate, o.n, FALLBACK_FIRING, "fallback answers")
    return out
