"""One prediction: as the service answers it and as the audit log keeps it, with the feedback and overrides that join on its request id."""

from __future__ import annotations

import dataclasses
from typing import Any

from nb2prod.models.record import Record

__all__ = ["AuditEvent", "Feedback", "Override", "Prediction"]


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
