"""Typed results shared by the core and every front — no loose dicts cross a boundary.

Each record is a frozen dataclass with ``to_dict()`` (JSON-ready) and, where a record is read
back from the store or a REST body, ``from_dict()``.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from pathlib import Path
from typing import Any, Self

__all__ = [
    "AlertCheck",
    "AlertEvent",
    "AlertRule",
    "AuditEvent",
    "ConceptDriftResult",
    "DataFile",
    "DriftResult",
    "FairnessAttribute",
    "FairnessResult",
    "FeatureDrift",
    "Feedback",
    "Finding",
    "GroupRates",
    "LintReport",
    "MetricWindow",
    "MonitorReport",
    "OperationsResult",
    "OpsStats",
    "Override",
    "Record",
    "RegistryEvent",
    "RunRecord",
    "Severity",
    "Traffic",
    "VersionRecord",
    "VersionState",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class Record:
    """Mixin: JSON-ready dict of a dataclass, recursively."""

    def to_dict(self) -> dict[str, Any]:
        assert dataclasses.is_dataclass(self)
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        assert dataclasses.is_dataclass(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class Severity(enum.StrEnum):
    """Lint severities, ordered: ``error`` > ``warning`` > ``info``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class VersionState(enum.StrEnum):
    """Where a version stands in its deployment's traffic."""

    CANDIDATE = "candidate"
    LIVE = "live"
    SHADOW = "shadow"
    CANARY = "canary"
    CONTROL = "control"
    RETIRED = "retired"
    REFUSED = "refused"


@dataclasses.dataclass(frozen=True, slots=True)
class Finding(Record):
    """One lint finding, located in a notebook cell."""

    rule: str
    severity: Severity
    message: str
    path: str = ""
    cell_index: int | None = None
    cell_id: str | None = None
    line: int | None = None
    fix: str | None = None
    evidence: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return super(Finding, cls).from_dict({**data, "severity": Severity(data["severity"])})


@dataclasses.dataclass(frozen=True, slots=True)
class LintReport(Record):
    """All findings for one notebook."""

    path: str
    findings: tuple[Finding, ...] = ()
    executed: bool = False

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)


@dataclasses.dataclass(frozen=True, slots=True)
class VersionRecord(Record):
    """Everything that identifies one deployed model version.

    Ties the data fingerprint, notebook/code fingerprint, model hash and environment lock
    together; every audit row carries ``version_id``.
    """

    version_id: str
    name: str
    created_at: str
    model_hash: str
    data_fingerprint: dict[str, Any] = dataclasses.field(default_factory=dict)
    code_fingerprint: dict[str, Any] = dataclasses.field(default_factory=dict)
    environment: dict[str, Any] = dataclasses.field(default_factory=dict)
    schema: dict[str, Any] = dataclasses.field(default_factory=dict)
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    lint: dict[str, Any] = dataclasses.field(default_factory=dict)
    parent: str | None = None
    bento_tag: str | None = None
    model_tag: str | None = None
    deployment_dir: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEvent(Record):
    """One prediction as the audit log keeps it."""

    request_id: str
    name: str
    version_id: str
    ts: float
    inputs: dict[str, Any]
    output: Any = None
    score: float | None = None
    probabilities: list[float] | None = None
    latency_ms: float | None = None
    fallback: bool = False
    fallback_reason: str | None = None
    violations: list[str] = dataclasses.field(default_factory=list)
    arm: str = "live"
    shadow_version: str | None = None
    shadow_output: Any = None
    shadow_score: float | None = None
    shadow_error: str | None = None
    explanation: dict[str, float] | None = None
    confidence: str | None = None
    error: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Feedback(Record):
    """A ground-truth label or business outcome for one request."""

    request_id: str
    label: Any = None
    outcome: float | None = None
    ts: float = 0.0
    source: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Override(Record):
    """A human operator's decision replacing the model's for one request."""

    request_id: str
    decision: Any
    operator: str
    reason: str
    ts: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class RegistryEvent(Record):
    """One step in a deployment's history: deploy, gate, promote, canary, rollback…"""

    name: str
    action: str
    version_id: str | None
    actor: str
    reason: str
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    ts: float = 0.0
    id: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Traffic(Record):
    """Which versions of a deployment receive traffic, and how much."""

    name: str
    live: str | None = None
    shadow: str | None = None
    shadow_percent: float = 100.0
    canary: str | None = None
    canary_percent: float = 0.0
    control: str | None = None
    control_percent: float = 0.0
    updated_at: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class RunRecord(Record):
    """One parameterised notebook run."""

    run_id: str
    notebook: str
    output: str
    parameters: dict[str, Any]
    status: str
    started_at: float
    duration_s: float | None = None
    data_fingerprints: dict[str, Any] = dataclasses.field(default_factory=dict)
    error: str | None = None
    result: dict[str, Any] = dataclasses.field(default_factory=dict)


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
class DataFile(Record):
    """A data file a notebook reads: its path relative to the notebook folder, size and sha256."""

    path: str
    size: int
    sha256: str


# -- monitoring (issue 7) --------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class FeatureDrift(Record):
    """Drift of one feature between the reference sketch and a window of live inputs.

    ``test`` is the hypothesis test behind ``p_value`` (``ks`` for numeric features,
    ``chi2`` — scipy's contingency test — for categorical ones); ``q_value`` is its
    Benjamini–Hochberg adjustment across the features; ``effect`` is the effect size the
    verdict also requires (normed Wasserstein for numeric, Jensen–Shannon for categorical).
    """

    feature: str
    kind: str
    test: str
    statistic: float
    p_value: float
    q_value: float
    effect_name: str
    effect: float
    psi: float
    drifted: bool
    n_reference: int
    n_current: int
    missing_reference: float = 0.0
    missing_current: float = 0.0
    unseen: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class DriftResult(Record):
    """Data drift of a deployment's live inputs in one window, per feature and overall.

    ``score`` is the share of features whose drift is detected (BH-adjusted p ≤ ``alpha`` *and*
    effect ≥ ``min_effect``); ``detected`` is true when at least one feature drifted.
    """

    name: str
    version_id: str | None
    window: str
    n_reference: int
    n_current: int
    features: tuple[FeatureDrift, ...]
    score: float
    detected: bool
    alpha: float
    min_effect: float
    since: float | None = None
    until: float | None = None
    elapsed_ms: float = 0.0

    @property
    def drifted(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def max_effect(self) -> float:
        return max((f.effect for f in self.features), default=0.0)


@dataclasses.dataclass(frozen=True, slots=True)
class MetricWindow(Record):
    """A metric over one time window with its confidence interval (``low``..``high``)."""

    start: float
    end: float
    n: int
    value: float | None = None
    low: float | None = None
    high: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ConceptDriftResult(Record):
    """Live metric (from feedback labels) against the validation metric, per window.

    ``score`` = max(0, validation − upper CI bound of the live metric) / validation for a
    higher-is-better metric (mirrored for error metrics): 0 while the validation figure is
    plausible live, else the relative degradation that the sampling noise cannot explain.
    ``detections`` are the timestamps where ADWIN found a change in the error stream.
    """

    name: str
    version_id: str | None
    metric: str
    validation: float | None
    higher_is_better: bool
    n_predictions: int
    n_labelled: int
    live: float | None
    live_low: float | None
    live_high: float | None
    gap: float | None
    score: float | None
    degraded: bool
    verdict: str
    windows: tuple[MetricWindow, ...] = ()
    detections: tuple[float, ...] = ()
    window: str = ""


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
    business: dict[str, float | None] = dataclasses.field(default_factory=dict)
    metrics: dict[str, float | None] = dataclasses.field(default_factory=dict)
    drift_timeline: tuple[MetricWindow, ...] = ()
    checks: tuple[AlertCheck, ...] = ()
    elapsed_ms: float = 0.0
    notes: tuple[str, ...] = ()
