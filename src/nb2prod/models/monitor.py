"""Fairness, operational figures, alert rules and the monitoring report that gathers them."""

from __future__ import annotations

import dataclasses
from typing import Any

from nb2prod.models.drift import ConceptDriftResult, DriftResult, EstimatedPerformance, MetricWindow
from nb2prod.models.record import Record

__all__ = ["AlertCheck", "AlertEvent", "AlertRule", "FairnessAttribute", "FairnessResult", "GroupRates", "MonitorReport", "OperationsResult", "OpsStats"]


@dataclasses.dataclass(frozen=True, slots=True)
class GroupRates(Record):
    """Rates for one group of a protected attribute, with 95% Wilson intervals."""

    group: str
    n: int
    selection_rate: float
    selection_low: float
    selection_high: float
    n_labelled: int = 0
    tpr: float | None = None
    fpr: float | None = None
    error_rate: float | None = None
    error_low: float | None = None
    error_high: float | None = None

@dataclasses.dataclass(frozen=True, slots=True)
class FairnessAttribute(Record):
    """Disparate impact for one protected attribute: lowest / highest favourable-outcome rate.

    ``verdict``: ``adverse_impact`` when the ratio is below 0.8 (four-fifths rule),
    ``ok`` when not, ``insufficient_data`` when a group has fewer than ``min_group_size`` rows.
    """

    attribute: str
    groups: tuple[GroupRates, ...]
    di_ratio: float | None
    di_low: float | None
    di_high: float | None
    verdict: str
    min_group_size: int
    timeline: tuple[MetricWindow, ...] = ()

@dataclasses.dataclass(frozen=True, slots=True)
class FairnessResult(Record):
    """Fairness of a deployment's decisions in one window, per protected attribute."""

    name: str
    window: str
    favorable: Any
    n: int
    attributes: tuple[FairnessAttribute, ...]

    @property
    def min_di_ratio(self) -> float | None:
        values = [a.di_ratio for a in self.attributes if a.di_ratio is not None and a.verdict != "insufficient_data"]
        return min(values) if values else None

@dataclasses.dataclass(frozen=True, slots=True)
class OpsStats(Record):
    """Operational figures of a slice of traffic (one version, one window, or both)."""

    start: float
    end: float
    n: int
    version_id: str | None = None
    throughput_rps: float = 0.0
    latency_p50_ms: float | None = None
    latency_p90_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    error_rate: float = 0.0
    fallback_rate: float = 0.0
    violation_rate: float = 0.0
    override_rate: float = 0.0

@dataclasses.dataclass(frozen=True, slots=True)
class OperationsResult(Record):
    """Latency, throughput and failure rates overall, by version and by window."""

    name: str
    window: str
    overall: OpsStats
    by_version: tuple[OpsStats, ...] = ()
    timeline: tuple[OpsStats, ...] = ()

@dataclasses.dataclass(frozen=True, slots=True)
class AlertRule(Record):
    """A declarative alert: fire when ``metric`` ``op`` ``threshold`` over ``window`` with ≥ ``min_count`` rows."""

    name: str
    metric: str
    threshold: float
    op: str = ">"
    window: str = "1h"
    min_count: int = 1
    cooldown_s: float | None = None

@dataclasses.dataclass(frozen=True, slots=True)
class AlertEvent(Record):
    """A fired alert rule."""

    name: str
    rule: str
    metric: str
    value: float
    threshold: float
    window: str
    ts: float = 0.0
    delivered: bool = False
    id: int | None = None

@dataclasses.dataclass(frozen=True, slots=True)
class AlertCheck(Record):
    """The outcome of evaluating one rule: ``firing``, ``ok``, ``insufficient_data`` or ``no_value``."""

    rule: AlertRule
    status: str
    value: float | None
    count: int
    alert: AlertEvent | None = None
    note: str = ""

@dataclasses.dataclass(frozen=True, slots=True)
class MonitorReport(Record):
    """Everything monitoring knows about a deployment over one window."""

    name: str
    version_id: str | None
    window: str
    since: float | None
    until: float
    n: int
    drift: DriftResult | None
    concept: ConceptDriftResult | None
    fairness: FairnessResult | None
    operations: OperationsResult
    estimated: EstimatedPerformance | None = None
    business: dict[str, float | None] = dataclasses.field(default_factory=dict)
    metrics: dict[str, float | None] = dataclasses.field(default_factory=dict)
    drift_timeline: tuple[MetricWindow, ...] = ()
    checks: tuple[AlertCheck, ...] = ()
    elapsed_ms: float = 0.0
    notes: tuple[str, ...] = ()
    versions: dict[str, int] = dataclasses.field(default_factory=dict)  # rows per version in the window
    source: str = "rows"  # "profiles" (merged per-minute profiles) or "rows" (the exact audit-row path)
