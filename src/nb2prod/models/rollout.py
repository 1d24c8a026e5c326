"""The shadow comparison, the shadow gate and the canary verdict, with their policy."""

from __future__ import annotations

import dataclasses
from typing import Any

from nb2prod.models.record import Record

__all__ = ["Agreement", "CanaryVerdict", "GateDecision", "LabelledComparison", "RolloutPolicy", "ShadowComparison"]


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
