"""The canary check: roll back automatically when the canary misbehaves.

Over the canary's requests so far (at least ``min_requests``): error rate, fallback rate,
latency p99 and divergence from the live model (the live model shadows canary requests)
against the policy's limits. Any limit crossed → ``rollback``. The evidence comes from the merged
profiles in the service (cost independent of traffic; p99 within the sketch's rank error) or,
as the exact reference, from the audit rows (:func:`canary_evidence`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nb2prod.models import AuditEvent, CanaryVerdict, RolloutPolicy
from nb2prod.rollout.compare import decision_key

if TYPE_CHECKING:
    from nb2prod.store import Store

__all__ = ["CanaryEvidence", "canary_evidence", "canary_evidence_from_profiles", "evaluate_canary", "judge_canary"]


@dataclass(frozen=True)
class CanaryEvidence:
    """What the canary check judges: the canary's rows since it started and the deployment's."""

    n: int  # canary rows
    total: int  # every answered row of the deployment over the same time, mirrored copies excluded (for the canary's share)
    errors: int
    fallbacks: int
    latency_p99_ms: float | None
    compared: int  # canary rows the live version also answered (it shadows canary requests)
    diverged: int  # of those, rows where the two decisions differ


def canary_evidence(events: Sequence[AuditEvent], canary_version: str | None) -> CanaryEvidence:
    """The evidence from audit rows: the exact reference the profile path is tested against."""
    mine = [e for e in events if e.arm == "canary" and (canary_version is None or e.version_id == canary_version)]
    latencies = np.array([e.latency_ms for e in mine if e.latency_ms is not None], dtype=float)
    compared = [e for e in mine if e.shadow_output is not None and e.shadow_error is None and e.error is None]
    return CanaryEvidence(
        n=len(mine), total=sum(e.arm != "shadow" for e in events), errors=sum(e.error is not None for e in mine), fallbacks=sum(bool(e.fallback) for e in mine),
        latency_p99_ms=float(np.percentile(latencies, 99)) if latencies.size else None, compared=len(compared),
        diverged=sum(decision_key(e.output) != decision_key(e.shadow_output) for e in compared),
    )


def canary_evidence_from_profiles(store: Store, name: str, canary_version: str, since: float | None) -> CanaryEvidence:
    """The evidence from the merged profiles of the canary's buckets since ``since`` (what the service's check reads)."""
    from nb2prod.store.profile_arms import arm_totals

    totals = arm_totals(store.audit.profiles, name, version_id=canary_version, arm="canary", since=since)
    return CanaryEvidence(n=totals.n, total=totals.total, errors=totals.errors, fallbacks=totals.fallbacks,
                          latency_p99_ms=totals.latency_p99_ms, compared=totals.compared, diverged=totals.disagree)


def evaluate_canary(
    events: Sequence[AuditEvent], *, name: str, canary_version: str | None, policy: RolloutPolicy | None = None
) -> CanaryVerdict:
    """Judge the canary from the audit rows of its deployment since the canary started."""
    return judge_canary(canary_evidence(events, canary_version), name=name, canary_version=canary_version, policy=policy)


def judge_canary(
    evidence: CanaryEvidence, *, name: str, canary_version: str | None, policy: RolloutPolicy | None = None
) -> CanaryVerdict:
    """The verdict on the evidence (from rows or from the merged profiles): any limit crossed → rollback."""
    policy = policy or RolloutPolicy()
    n = evidence.n
    share = n / evidence.total if evidence.total else None
    if n < policy.min_requests:
        return CanaryVerdict(name, canary_version, "insufficient", [f"{n} canary requests so far; a verdict needs {policy.min_requests}"],
                             n, None, None, None, None, share)
    error_rate = evidence.errors / n
    fallback_rate = evidence.fallbacks / n
    p99 = evidence.latency_p99_ms
    divergence = evidence.diverged / evidence.compared if evidence.compared else None
    reasons = []
    if error_rate > policy.canary_max_error_rate:
        reasons.append(f"error rate {error_rate:.1%} > {policy.canary_max_error_rate:.1%}")
    if fallback_rate > policy.canary_max_fallback_rate:
        reasons.append(f"fallback rate {fallback_rate:.1%} > {policy.canary_max_fallback_rate:.1%}")
    if p99 is not None and p99 > policy.canary_max_p99_ms:
        reasons.append(f"latency p99 {p99:.0f} ms > {policy.canary_max_p99_ms:.0f} ms")
    if divergence is not None and divergence > policy.canary_max_divergence:
        reasons.append(f"divergence from live {divergence:.1%} > {policy.canary_max_divergence:.1%}")
    verdict = "rollback" if reasons else "healthy"
    if not reasons:
        reasons.append(f"{n} canary requests within every limit")
    return CanaryVerdict(name, canary_version, verdict, reasons, n, error_rate, fallback_rate, p99, divergence, share)
