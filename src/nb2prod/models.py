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
    "Agreement",
    "AlertCheck",
    "AlertEvent",
    "AlertRule",
    "AuditEvent",
    "CanaryVerdict",
    "ConceptDriftResult",
    "ContractReport",
    "ContractViolation",
    "DataFile",
    "DeployResult",
    "DeploymentStatus",
    "DriftResult",
    "EstimatedPerformance",
    "FairnessAttribute",
    "FairnessResult",
    "FeatureDrift",
    "Feedback",
    "Finding",
    "GateDecision",
    "GroupRates",
    "LabelledComparison",
    "LintReport",
    "MetricWindow",
    "MonitorReport",
    "OperationsResult",
    "OpsStats",
    "Override",
    "Prediction",
    "RebuildResult",
    "Record",
    "RegistryEvent",
    "RetrainPolicy",
    "RetrainResult",
    "RetrainStep",
    "RolloutPolicy",
    "RunRecord",
    "ScheduleItem",
    "ServeInfo",
    "Severity",
    "ShadowComparison",
    "Traffic",
    "VersionRecord",
    "VersionState",
    "VersionStatus",
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
    client_request_id: str | None = None  # the id the caller sent, kept beside the service's own key


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


# -- monitoring --------------------------------------------------------------------
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
class EstimatedPerformance(Record):
    """Accuracy estimated from the model's calibrated scores alone, before labels arrive.

    Confidence-based estimation (as NannyML's CBPE): a decision on a row whose calibrated
    positive probability is ``p`` is right with probability ``p`` (decided positive) or ``1 − p``.
    The interval covers sampling noise only; it assumes the score → outcome relation seen on the
    holdout still holds (covariate shift is fine, concept shift is what labels reveal). ``score``
    is computed like the concept score. ``precision``/``recall``/``f1`` come from the expected
    confusion matrix, ``roc_auc`` from the expected ROC curve (rows ranked by raw score).
    """

    name: str
    version_id: str | None
    validation: float | None
    estimated: float | None
    low: float | None
    high: float | None
    n: int
    score: float | None
    degraded: bool
    verdict: str  # ok | degraded | no_validation_metric | insufficient_data | no_calibration
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    roc_auc: float | None = None
    windows: tuple[MetricWindow, ...] = ()
    metric: str = "accuracy"
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
    estimated: EstimatedPerformance | None = None
    business: dict[str, float | None] = dataclasses.field(default_factory=dict)
    metrics: dict[str, float | None] = dataclasses.field(default_factory=dict)
    drift_timeline: tuple[MetricWindow, ...] = ()
    checks: tuple[AlertCheck, ...] = ()
    elapsed_ms: float = 0.0
    notes: tuple[str, ...] = ()
    versions: dict[str, int] = dataclasses.field(default_factory=dict)  # rows per version in the window
    source: str = "rows"  # "profiles" (merged per-minute profiles) or "rows" (the exact audit-row path)


# -- deploy --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class ServeInfo(Record):
    """A local service started by ``serve``: where it answers and which process runs it."""

    name: str
    version_id: str
    url: str
    port: int
    pid: int
    bento_tag: str | None = None
    started_at: float = 0.0
    log: str | None = None
    running: bool = True
    auth: str | None = None  # how a client sends the service token to the protected routes (never the token)


@dataclasses.dataclass(frozen=True, slots=True)
class DeployResult(Record):
    """What ``deploy`` produced: the version, its evidence (metrics, gate, proof), and the URL if served."""

    name: str
    version_id: str
    deployment_dir: str
    bento_tag: str | None
    model_tag: str | None
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    gate: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    proof: dict[str, Any] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)
    lint: dict[str, Any] = dataclasses.field(default_factory=dict)
    parent: str | None = None
    schema_changes: list[str] = dataclasses.field(default_factory=list)
    captured: list[str] = dataclasses.field(default_factory=list)
    url: str | None = None
    duration_s: float = 0.0
    # Set when the version was deployed as a shadow: it then replaces nothing and has no URL of
    # its own, since it sees a share of the live version's requests.
    shadow_percent: float | None = None
    auth: str | None = None  # how to send the service token (served deploys); never the token itself

    def summary(self) -> str:
        """A few plain-text lines for a terminal or notebook."""
        metrics = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in self.metrics.items()) or "no holdout"
        lines = [
            f"deployed {self.version_id} in {self.duration_s:.1f}s" + (f" → {self.url}" if self.url else ""),
            f"  metrics: {metrics}",
            f"  proof:   {self.proof.get('rows', 0)} sample rows match in a fresh process"
            + (f" (max |Δscore| {self.proof['max_abs_diff']:.1e})" if self.proof.get("max_abs_diff") is not None else ""),
            f"  bento:   {self.bento_tag}   folder: {self.deployment_dir}",
        ]
        if self.url and self.auth:
            lines.append(f"  token:   {self.auth}")
        if self.captured:
            lines.append(f"  captured notebook code: {', '.join(self.captured)}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """The deploy card's body: identity, URL, metrics, gate checks, proof, warnings."""
        import html

        def esc(value: object) -> str:
            return html.escape(f"{value:.4g}" if isinstance(value, float) else str(value))

        link_style = "color:var(--jp-content-link-color,#1976d2);text-decoration:underline"
        if self.shadow_percent is not None:
            link = (f"none of its own: it sees {self.shadow_percent:g}% of the requests sent to the live version "
                    f"{esc(self.parent or '-')}, whose answers are the ones returned")
        elif self.url:
            link = f"<a href='{esc(self.url)}' target='_blank' title='the service: Swagger UI' style='{link_style}'>{esc(self.url)}</a>"
        else:
            link = "not served (use --serve)"
        relation = ("shadows", esc(self.parent or "-")) if self.shadow_percent is not None else ("replaces", esc(self.parent or "-"))
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:12px'>{k}</th><td style='text-align:left'>{v}</td></tr>"
            for k, v in (
                ("version", esc(self.version_id)),
                ("url", link),
                ("metrics", " · ".join(f"<b>{esc(k)}</b> {esc(v)}" for k, v in self.metrics.items()) or "no holdout"),
                ("proof", f"{esc(self.proof.get('rows', 0))} sample rows match in a fresh process"),
                ("bento", esc(self.bento_tag)),
                relation,
                ("notebook code", esc(", ".join(self.captured) or "-")),
                ("took", f"{self.duration_s:.1f} s"),
            )
        )
        checks = " ".join(
            f"<span style='margin-right:10px;color:{'#2e7d32' if c.get('passed') else '#d0021b'}'>"
            f"{'✔' if c.get('passed') else '✘'} {esc(c.get('metric') or c.get('check') or 'gate')}"
            + (f" {esc(c['value'])} vs {esc(c['limit'])}" if c.get("value") is not None and c.get("limit") is not None else "")
            + "</span>"
            for c in self.gate
        )
        warnings = "".join(f"<li>{esc(w)}</li>" for w in self.warnings)
        return (
            "<div style='border:1px solid #8884;border-radius:6px;padding:8px 12px;max-width:720px'>"
            f"<div style='font-weight:bold;margin-bottom:4px'>nb2prod: deployed {esc(self.name)}</div><table>{rows}</table>"
            + (f"<div style='margin-top:4px'>gate: {checks}</div>" if checks else "")
            + (f"<ul style='color:#b26a00;margin:4px 0 0 0'>{warnings}</ul>" if warnings else "")
            + "</div>"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RebuildResult(Record):
    """``rebuild``: the recorded notebook re-run with its parameters, compared with the stored model."""

    version_id: str
    run_id: str | None
    output_notebook: str | None
    matches: bool
    rows: int
    mismatched: int
    max_abs_diff: float | None
    model_hash_equal: bool
    differences: list[str] = dataclasses.field(default_factory=list)
    likely_causes: list[str] = dataclasses.field(default_factory=list)
    duration_s: float = 0.0


# -- runtime -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Prediction(Record):
    """One guarded prediction as the service answers it (the audit row holds the same facts).

    ``prediction`` is the model's ``predict`` (a class label, or a regression's value).
    ``score`` is the number behind it and ``score_source`` says where it comes from:
    ``predict_proba`` (then ``probability`` is the positive-class probability (binary) or the
    decision's probability (multiclass), and ``probabilities`` has every class),
    ``decision_function`` (a margin: no probabilities), ``predict`` (a regression's value; then
    ``interval`` is ``[low, high]`` from the holdout residuals when known) or None (no score).
    ``confidence`` is ``high``, ``low`` (near the decision boundary / classes close),
    ``out_of_range`` (guardrail violations tolerated) or ``fallback``.
    """

    request_id: str
    version_id: str
    prediction: Any
    probability: float | None
    probabilities: dict[str, float] | None
    confidence: str
    fallback: bool
    fallback_reason: str | None
    violations: list[str]
    latency_ms: float
    explanation: dict[str, float] | None = None
    score: float | None = None
    score_source: str | None = None
    interval: list[float] | None = None
    client_request_id: str | None = None  # the caller's own id, echoed; ``request_id`` is the service's key


# -- panels --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class VersionStatus(Record):
    """One version of a deployment as the panels show it: its record, state and share of traffic (percent)."""

    record: VersionRecord
    state: VersionState
    traffic_percent: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class DeploymentStatus(Record):
    """A deployment: its routing, its versions (newest first) and, when asked for, its history (newest first)."""

    name: str
    traffic: Traffic
    versions: tuple[VersionStatus, ...] = ()
    events: tuple[RegistryEvent, ...] = ()
    retrain: ScheduleItem | None = None  # retraining status: expired (max age) / due (alerts), with reasons


# -- rollout -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Agreement(Record):
    """How often two models decided the same, with a 95% Wilson interval."""

    n: int
    agreement: float | None
    low: float | None
    high: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class LabelledComparison(Record):
    """Both models' accuracy on the same labelled requests, with McNemar's exact test.

    ``live_only`` counts requests only the live model got right, ``candidate_only`` those only
    the candidate got right; ``p_value`` tests whether they differ.
    """

    n: int
    live_accuracy: float | None
    candidate_accuracy: float | None
    live_only: int
    candidate_only: int
    p_value: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class ShadowComparison(Record):
    """Live vs candidate on the same requests, read from the audit log."""

    name: str
    live_version: str | None
    candidate_version: str | None
    overall: Agreement
    flip_matrix: dict[str, dict[str, int]]
    score_mean_abs_diff: float | None
    score_ks_statistic: float | None
    score_ks_p_value: float | None
    live_scores: list[float]
    candidate_scores: list[float]
    segments: dict[str, dict[str, Agreement]]
    labelled: LabelledComparison
    candidate_errors: int  # the candidate raised or crashed; timeouts are counted apart
    since: float | None = None
    until: float | None = None
    candidate_timeouts: int = 0  # the shadow answered after its deadline: not compared, not an error
    shadowed: int = 0  # rows the candidate was asked to shadow (compared + errors + timeouts)
    completeness: float | None = None  # share of shadowed rows that produced a comparison


@dataclasses.dataclass(frozen=True, slots=True)
class RolloutPolicy(Record):
    """Thresholds of the shadow gate and of the canary's automatic rollback."""

    max_divergence: float = 0.05  # 1 - agreement allowed before the gate blocks
    min_requests: int = 100  # compared (gate) or canary (rollback) requests needed before a verdict
    alpha: float = 0.05  # significance of McNemar's test for "candidate significantly better"
    max_candidate_error_rate: float = 0.01
    canary_max_error_rate: float = 0.02
    canary_max_fallback_rate: float = 0.10
    canary_max_p99_ms: float = 250.0
    canary_max_divergence: float = 0.15


@dataclasses.dataclass(frozen=True, slots=True)
class GateDecision(Record):
    """The shadow gate's verdict (``pass``, ``blocked``, ``needs_approval``) with its reasons and evidence."""

    name: str
    candidate_version: str | None
    verdict: str
    reasons: list[str]
    evidence: dict[str, Any]
    policy: RolloutPolicy


@dataclasses.dataclass(frozen=True, slots=True)
class CanaryVerdict(Record):
    """The canary check's verdict (``healthy``, ``insufficient``, ``rollback``) over its requests so far."""

    name: str
    canary_version: str | None
    verdict: str
    reasons: list[str]
    requests: int
    error_rate: float | None
    fallback_rate: float | None
    p99_ms: float | None
    divergence: float | None
    share_observed: float | None


# -- retraining ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class RetrainPolicy(Record):
    """When a model must be retrained and how its candidate is promoted.

    ``max_age_days``: the live version expires that many days after it was created.
    ``on_alerts``: alert rule names or metrics (e.g. ``"data drift"``, ``"concept.score"``) that
    make a retrain due when they fire after the live version was deployed. ``auto_promote``:
    promote the candidate as soon as the shadow gate passes (else wait for a human).
    ``parameters``: papermill parameters every retrain run gets; ``cron``: the CronJob schedule.
    """

    name: str
    max_age_days: float | None = 30.0
    on_alerts: tuple[str, ...] = ("data drift", "concept drift")
    auto_promote: bool = False
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    notebook: str | None = None
    cron: str = "0 3 * * *"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return super(RetrainPolicy, cls).from_dict({**data, "on_alerts": tuple(data.get("on_alerts") or ())})


@dataclasses.dataclass(frozen=True, slots=True)
class ContractViolation(Record):
    """One way new data breaks a version's data contract (``kind``: missing, extra, dtype, nulls, category, range)."""

    feature: str
    kind: str
    message: str
    share: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ContractReport(Record):
    """New data checked against the schema and guardrails recorded at deploy."""

    name: str
    version_id: str
    rows: int
    violations: tuple[ContractViolation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        if self.ok:
            return f"{self.rows} rows meet the data contract of {self.version_id}"
        lines = [f"{self.rows} rows break the data contract of {self.version_id}:"]
        lines += [f"  - {v.feature}: {v.message}" for v in self.violations]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True, slots=True)
class RetrainStep(Record):
    """One step of a retrain (``contract``, ``feedback``, ``train``, ``shadow_gate``, ``promote``) and its outcome."""

    step: str
    status: str  # "ok" | "failed" | "refused" | "skipped" | "waiting"
    detail: str = ""
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    duration_s: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class RetrainResult(Record):
    """A retrain: its steps, the candidate it produced, and where the deployment stands after it.

    ``outcome``: ``promoted``, ``awaiting_approval``, ``shadowing`` (gate blocked, candidate kept in
    shadow), ``refused`` (a gate refused) or ``failed``. The live version is only changed by ``promoted``.
    """

    retrain_id: str
    name: str
    live_before: str | None
    live_after: str | None
    candidate: str | None
    outcome: str
    steps: tuple[RetrainStep, ...] = ()
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    run_id: str | None = None
    duration_s: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleItem(Record):
    """One deployment's retraining status: its live version's age, expiry and the alerts that make it due."""

    name: str
    live_version: str | None
    age_days: float | None
    expired: bool
    due: bool
    reasons: tuple[str, ...] = ()
    policy: RetrainPolicy | None = None
