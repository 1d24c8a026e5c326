"""Shadow comparison, gate, routing and canary check on audit rows with known ground truth."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy import stats

from nb2prod.models import AuditEvent, RolloutPolicy, Traffic
from nb2prod.rollout import compare_shadow, evaluate_canary, mcnemar_exact, route_request, shadow_gate, wilson


def _events(n: int, *, flip: float, cand_better: bool = False, seed: int = 0, fail: float = 0.0) -> tuple[list[AuditEvent], dict[str, int]]:
    """n shadowed requests; the candidate flips ``flip`` of live decisions. Labels: live right 80%."""
    rng = np.random.default_rng(seed)
    events, labels = [], {}
    for i in range(n):
        truth = int(rng.random() < 0.3)
        live = truth if rng.random() < 0.8 else 1 - truth
        if cand_better:
            cand = truth if live != truth and rng.random() < flip / 0.2 else live
        else:
            cand = 1 - live if rng.random() < flip else live
        score = float(np.clip(0.5 + (live - 0.5) * 0.6 + rng.normal(0, 0.1), 0, 1))
        failed = rng.random() < fail
        events.append(
            AuditEvent(
                request_id=f"r{i}", name="credit", version_id="v1", ts=float(i), inputs={"gender": "female" if i % 2 else "male"},
                output=live, score=score, shadow_version="v2", shadow_output=None if failed else cand,
                shadow_score=None if failed else float(np.clip(score + (cand - live) * 0.5, 0, 1)),
                shadow_error="ValueError: boom" if failed else None,
            )
        )
        labels[f"r{i}"] = truth
    return events, labels


def test_wilson_interval_matches_the_textbook_values() -> None:
    a = wilson(81, 263)
    assert a.agreement == pytest.approx(0.308, abs=1e-3)
    assert (a.low, a.high) == (pytest.approx(0.2553, abs=1e-3), pytest.approx(0.3662, abs=1e-3))
    assert wilson(0, 0).agreement is None
    assert wilson(10, 10).high == pytest.approx(1.0)


def test_mcnemar_exact_is_the_binomial_on_discordant_pairs() -> None:
    assert mcnemar_exact(0, 0) is None
    assert mcnemar_exact(5, 5) == pytest.approx(1.0)
    assert mcnemar_exact(2, 12) == pytest.approx(stats.binomtest(2, 14, 0.5).pvalue)


def test_comparison_counts_flips_segments_and_accuracy() -> None:
    events, labels = _events(2000, flip=0.1)
    comp = compare_shadow(events, name="credit", live_version="v1", candidate_version="v2", labels=labels, segment_by=["gender"])
    assert comp.overall.n == 2000
    assert comp.overall.low < 0.9 < comp.overall.high or abs(comp.overall.agreement - 0.9) < 0.02
    flips = comp.flip_matrix["0"].get("1", 0) + comp.flip_matrix["1"].get("0", 0)
    assert flips == 2000 - round(comp.overall.agreement * 2000)
    assert set(comp.segments["gender"]) == {"female", "male"}
    assert sum(a.n for a in comp.segments["gender"].values()) == 2000
    assert comp.labelled.n == 2000 and comp.labelled.live_accuracy == pytest.approx(0.8, abs=0.03)
    assert comp.score_ks_statistic is not None and comp.score_mean_abs_diff is not None


def test_identical_candidate_passes_the_gate() -> None:
    events, labels = _events(500, flip=0.0)
    decision = shadow_gate(compare_shadow(events, name="credit", live_version="v1", candidate_version="v2", labels=labels))
    assert decision.verdict == "pass" and decision.evidence["agreement"] == 1.0


def test_divergent_candidate_is_blocked() -> None:
    events, labels = _events(1000, flip=0.25, seed=1)
    decision = shadow_gate(compare_shadow(events, name="credit", live_version="v1", candidate_version="v2", labels=labels))
    assert decision.verdict == "blocked"
    assert any("disagrees" in r for r in decision.reasons) and any("do not show it better" in r for r in decision.reasons)


def test_better_but_divergent_candidate_goes_to_a_human() -> None:
    events, labels = _events(1000, flip=0.15, cand_better=True, seed=2)
    comp = compare_shadow(events, name="credit", live_version="v1", candidate_version="v2", labels=labels)
    decision = shadow_gate(comp)
    assert comp.labelled.candidate_accuracy > comp.labelled.live_accuracy
    assert decision.verdict == "needs_approval" and "human must approve" in decision.reasons[-1]


def test_too_little_evidence_and_failing_candidates_are_blocked() -> None:
    events, labels = _events(50, flip=0.0)
    assert shadow_gate(compare_shadow(events, name="c", live_version="v1", candidate_version="v2")).verdict == "blocked"
    events, labels = _events(500, flip=0.0, fail=0.05, seed=3)
    comp = compare_shadow(events, name="c", live_version="v1", candidate_version="v2", labels=labels)
    assert comp.candidate_errors > 0
    decision = shadow_gate(comp, RolloutPolicy(max_candidate_error_rate=0.01))
    assert decision.verdict == "blocked" and "failed on" in decision.reasons[0]


def test_canary_shares_hold_within_statistical_tolerance_and_are_sticky() -> None:
    traffic = Traffic(name="credit", live="v1", canary="v2", canary_percent=10.0, control="v0", control_percent=5.0)
    keys = [f"customer-{i}" for i in range(20_000)]
    arms = [route_request(traffic, k).arm for k in keys]
    for arm, share in (("canary", 0.10), ("control", 0.05), ("live", 0.85)):
        count = arms.count(arm)
        assert stats.binomtest(count, len(keys), share).pvalue > 0.001, (arm, count)
    assert [route_request(traffic, k).arm for k in keys[:500]] == arms[:500]  # sticky per key
    rng = random.Random(7)
    unkeyed = [route_request(traffic, None, rng=rng).arm for _ in range(20_000)]
    assert stats.binomtest(unkeyed.count("canary"), 20_000, 0.10).pvalue > 0.001


def test_shadow_sampling_and_canary_shadowed_by_live() -> None:
    traffic = Traffic(name="credit", live="v1", shadow="v2", shadow_percent=30.0, canary="v3", canary_percent=10.0)
    routes = [route_request(traffic, f"k{i}") for i in range(10_000)]
    live = [r for r in routes if r.arm == "live"]
    shadowed = sum(r.shadow_version == "v2" for r in live)
    assert stats.binomtest(shadowed, len(live), 0.30).pvalue > 0.001
    assert all(r.shadow_version == "v1" for r in routes if r.arm == "canary")
    with pytest.raises(ValueError, match="no live version"):
        route_request(Traffic(name="x"), "k")


def _canary_events(n: int, *, error_every: int = 0, slow: bool = False) -> list[AuditEvent]:
    out = []
    for i in range(n):
        canary = i % 10 == 0
        out.append(
            AuditEvent(
                request_id=f"c{i}", name="credit", version_id="v2" if canary else "v1", ts=float(i), inputs={},
                output=None if canary and error_every and i % error_every == 0 else 1, arm="canary" if canary else "live",
                latency_ms=400.0 if slow and canary else 5.0,
                error="RuntimeError" if canary and error_every and i % error_every == 0 else None,
                shadow_output=1 if canary else None, shadow_version="v1" if canary else None,
            )
        )
    return out


def test_canary_verdicts() -> None:
    policy = RolloutPolicy(min_requests=50)
    assert evaluate_canary(_canary_events(300), name="credit", canary_version="v2", policy=policy).verdict == "insufficient"
    healthy = evaluate_canary(_canary_events(2000), name="credit", canary_version="v2", policy=policy)
    assert healthy.verdict == "healthy" and healthy.share_observed == pytest.approx(0.1) and healthy.divergence == 0.0
    failing = evaluate_canary(_canary_events(2000, error_every=20), name="credit", canary_version="v2", policy=policy)
    assert failing.verdict == "rollback" and "error rate" in failing.reasons[0]
    slow = evaluate_canary(_canary_events(2000, slow=True), name="credit", canary_version="v2", policy=policy)
    assert slow.verdict == "rollback" and "p99" in slow.reasons[0]


def _mixed(compared: int, errors: int, timeouts: int) -> list[AuditEvent]:
    """Identical candidate answers on ``compared`` rows, then raised errors, then late answers."""
    events = []
    for i in range(compared + errors + timeouts):
        error = None if i < compared else "ValueError: boom" if i < compared + errors else "timeout: shadow answer took 900 ms (limit 250 ms)"
        events.append(AuditEvent(request_id=f"m{i}", name="credit", version_id="v1", ts=float(i), inputs={}, output=1, score=0.7,
                                 shadow_version="v2", shadow_output=None if error else 1, shadow_score=None if error else 0.7,
                                 shadow_error=error))
    return events


def test_timeouts_are_not_compared_and_not_counted_as_errors() -> None:
    comp = compare_shadow(_mixed(200, 1, 300), name="credit", live_version="v1", candidate_version="v2")
    assert (comp.overall.n, comp.candidate_errors, comp.candidate_timeouts, comp.shadowed) == (200, 1, 300, 501)
    assert comp.completeness == pytest.approx(200 / 501)
    decision = shadow_gate(comp, RolloutPolicy(max_candidate_error_rate=0.01))
    assert decision.verdict == "pass", decision.reasons  # 1 error in 201 answered rows is within 1 %; 300 late rows do not count
    assert decision.evidence["candidate_timeouts"] == 300 and decision.evidence["compared"] == 200


def test_gate_needs_a_minimum_of_compared_rows() -> None:
    decision = shadow_gate(compare_shadow(_mixed(99, 0, 5000), name="credit", live_version="v1", candidate_version="v2"))
    assert decision.verdict == "blocked" and decision.reasons[0].startswith("needs more data: only 99 shadowed requests compared")
    assert "5000 shadow answers timed out" in decision.reasons[0]
    assert shadow_gate(compare_shadow(_mixed(100, 0, 5000), name="credit", live_version="v1", candidate_version="v2")).verdict == "pass"
    errored = shadow_gate(compare_shadow(_mixed(100, 10, 0), name="credit", live_version="v1", candidate_version="v2"))
    assert errored.verdict == "blocked" and "failed on 9.1%" in errored.reasons[0]
