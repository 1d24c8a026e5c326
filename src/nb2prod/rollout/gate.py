"""The two-stage shadow gate.

1. Divergence: if the candidate disagrees with the live model on more than
   ``max_divergence`` of shadowed requests (point estimate), or fails on more than
   ``max_candidate_error_rate`` of them, it does not ship…
2. …unless labelled outcomes show it significantly better (McNemar p < ``alpha`` and more
   requests that only the candidate got right): then a human decides (``needs_approval``).

Only compared rows count: a shadow answer that missed its deadline is "not compared" — neither an
error nor an agreement. Too few compared requests (< ``min_requests``) blocks with "needs more
data": no evidence, no promotion, and no verdict on the candidate's quality either.
"""

from __future__ import annotations

from nb2prod.models import GateDecision, RolloutPolicy, ShadowComparison

__all__ = ["shadow_gate"]


def shadow_gate(comparison: ShadowComparison, policy: RolloutPolicy | None = None) -> GateDecision:
    policy = policy or RolloutPolicy()
    overall = comparison.overall
    compared = overall.n
    answered = compared + comparison.candidate_errors  # rows the candidate answered in time, well or not
    evidence = {
        "shadowed": comparison.shadowed,
        "compared": compared,
        "completeness": comparison.completeness,
        "candidate_timeouts": comparison.candidate_timeouts,
        "agreement": overall.agreement,
        "agreement_ci": [overall.low, overall.high],
        "candidate_errors": comparison.candidate_errors,
        "score_mean_abs_diff": comparison.score_mean_abs_diff,
        "score_ks_p_value": comparison.score_ks_p_value,
        "labelled": comparison.labelled.to_dict(),
        "flip_matrix": comparison.flip_matrix,
    }

    def decide(verdict: str, *reasons: str) -> GateDecision:
        return GateDecision(
            name=comparison.name,
            candidate_version=comparison.candidate_version,
            verdict=verdict,
            reasons=list(reasons),
            evidence=evidence,
            policy=policy,
        )

    if compared < policy.min_requests:
        late = f", {comparison.candidate_timeouts} shadow answers timed out (not compared)" if comparison.candidate_timeouts else ""
        return decide("blocked", f"needs more data: only {compared} shadowed requests compared{late}; "
                                 f"the gate needs at least {policy.min_requests} before it may pass or block")
    error_rate = comparison.candidate_errors / answered
    problems = []
    if error_rate > policy.max_candidate_error_rate:
        problems.append(f"candidate failed on {error_rate:.1%} of the shadowed requests it answered in time "
                        f"(limit {policy.max_candidate_error_rate:.1%}; timeouts not counted)")
    divergence = 1 - (overall.agreement if overall.agreement is not None else 0.0)
    if divergence > policy.max_divergence:
        problems.append(f"candidate disagrees on {divergence:.1%} of requests (limit {policy.max_divergence:.1%})")
    if not problems:
        return decide("pass", f"agreement {1 - divergence:.1%} (95% CI {overall.low:.1%}–{overall.high:.1%}) within the limit")
    labelled = comparison.labelled
    better = (
        error_rate <= policy.max_candidate_error_rate
        and labelled.p_value is not None
        and labelled.p_value < policy.alpha
        and labelled.candidate_only > labelled.live_only
    )
    if better:
        return decide(
            "needs_approval",
            *problems,
            f"but on {labelled.n} labelled requests the candidate is significantly more accurate "
            f"({labelled.candidate_accuracy:.1%} vs {labelled.live_accuracy:.1%}, McNemar p={labelled.p_value:.3g}): a human must approve",
        )
    if labelled.n:
        problems.append(
            f"labelled outcomes do not show it better ({labelled.n} labelled, candidate {labelled.candidate_accuracy:.1%} "
            f"vs live {labelled.live_accuracy:.1%}, p={labelled.p_value if labelled.p_value is not None else float('nan'):.3g})"
        )
    else:
        problems.append("no feedback labels to show it is better")
    return decide("blocked", *problems)
