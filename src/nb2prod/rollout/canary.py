"""The canary check: roll back automatically when the canary misbehaves.

Over the canary's requests so far (at least ``min_requests``): error rate, fallback rate,
latency p99 and divergence from the live model (the live model shadows canary requests)
against the policy's limits. Any limit crossed → ``rollback``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nb2prod.models import AuditEvent, CanaryVerdict, RolloutPolicy
from nb2prod.rollout.compare import decision_key

__all__ = ["evaluate_canary"]


def evaluate_canary(
    events: Sequence[AuditEvent], *, name: str, canary_version: str | None, policy: RolloutPolicy | None = None
) -> CanaryVerdict:
    """Judge the canary from the audit rows of its deployment since the canary started."""
    policy = policy or RolloutPolicy()
    mine = [e for e in events if e.arm == "canary" and (canary_version is None or e.version_id == canary_version)]
    n = len(mine)
    share = n / len(events) if events else None
    if n < policy.min_requests:
        return CanaryVerdict(name, canary_version, "insufficient", [f"{n} canary requests so far; a verdict needs {policy.min_requests}"],
                             n, None, None, None, None, share)
    error_rate = sum(e.error is not None for e in mine) / n
    fallback_rate = sum(bool(e.fallback) for e in mine) / n
    latencies = np.array([e.latency_ms for e in mine if e.latency_ms is not None], dtype=float)
    p99 = float(np.percentile(latencies, 99)) if latencies.size else None
    compared = [e for e in mine if e.shadow_output is not None and e.shadow_error is None and e.error is None]
    divergence = (
        sum(decision_key(e.output) != decision_key(e.shadow_output) for e in compared) / len(compared) if compared else None
    )
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
