"""Rollout evidence on the registry and audit log: shadow comparison, the shadow gate, the canary check.

The canary check's automatic rollback is one transition (``stop_canary``) applied through
``Registry.apply``, like every other traffic change (:mod:`nb2prod.rollout.verbs`).
"""

from __future__ import annotations

import time
from typing import Any

from nb2prod.errors import ConflictError, NotFoundError
from nb2prod.models import CanaryVerdict, GateDecision, RegistryEvent, RolloutPolicy, ShadowComparison
from nb2prod.rollout.canary import canary_evidence_from_profiles, judge_canary
from nb2prod.rollout.compare import compare_shadow
from nb2prod.rollout.gate import shadow_gate
from nb2prod.rollout.mirror import pair_mirrored
from nb2prod.rollout.transitions import TransitionRequest
from nb2prod.store import Store

__all__ = ["check_canary", "latest_gate", "run_gate", "shadow_comparison"]


def _since_event(store: Store, name: str, action: str, version_id: str) -> float | None:
    for event in store.registry.events(name, limit=1000):
        if event.action == action and event.version_id == version_id:
            return event.ts
    return None


def shadow_comparison(
    store: Store, name: str, *, candidate: str | None = None, since: float | None = None, until: float | None = None
) -> ShadowComparison:
    """Compare the live version with its shadow (or ``candidate``) on every request both answered."""
    traffic = store.registry.traffic(name)
    candidate_id = store.registry.resolve(f"{name}:{candidate}").version_id if candidate else traffic.shadow
    if candidate_id is None:
        raise NotFoundError(f"{name!r} has no shadow version", fix=f"start one with `nb2prod shadow {name}:VERSION`")
    if since is None:
        since = _since_event(store, name, "shadow", candidate_id)
    stored = store.audit.predictions(name, since=since, until=until)
    # in-process shadow rows, plus live rows paired with their gateway-mirrored twins
    events = [e for e in stored if e.shadow_version == candidate_id] + pair_mirrored(stored, candidate_id)
    labels: dict[str, Any] = {f.request_id: f.label for f in store.audit.feedback([e.request_id for e in events])} if events else {}
    live_id = traffic.live
    protected: list[str] = []
    if live_id:
        protected = list(store.registry.get(live_id).extra.get("protected") or [])
    return compare_shadow(
        events, name=name, live_version=live_id, candidate_version=candidate_id, labels=labels,
        segment_by=protected, since=since, until=until,
    )


def run_gate(
    store: Store, name: str, *, candidate: str | None = None, policy: RolloutPolicy | None = None, actor: str, record: bool = True
) -> GateDecision:
    """The shadow gate on the current evidence; the decision and its evidence are recorded."""
    decision = shadow_gate(shadow_comparison(store, name, candidate=candidate), policy)
    if record:
        store.registry.record_event(RegistryEvent(
            name=name, action="gate", version_id=decision.candidate_version, actor=actor,
            reason=f"shadow gate: {decision.verdict} — " + "; ".join(decision.reasons),
            evidence={"verdict": decision.verdict, **decision.evidence, "policy": decision.policy.to_dict()},
        ))
    return decision


def latest_gate(store: Store, name: str, version_id: str) -> RegistryEvent | None:
    for event in store.registry.events(name, limit=1000):
        if event.action == "gate" and event.version_id == version_id:
            return event
    return None


def check_canary(
    store: Store, name: str, *, policy: RolloutPolicy | None = None, actor: str, rollback: bool = True
) -> CanaryVerdict:
    """Judge the running canary; on ``rollback`` stop it at once and record why (with the evidence)."""
    traffic = store.registry.traffic(name)
    if not traffic.canary:
        raise NotFoundError(f"{name!r} has no canary running", fix=f"start one with `nb2prod canary {name}:VERSION --percent 10`")
    since = _since_event(store, name, "canary", traffic.canary)
    # from the merged profiles of the canary's buckets: the check's cost does not grow with its traffic
    evidence = canary_evidence_from_profiles(store, name, traffic.canary, since)
    verdict = judge_canary(evidence, name=name, canary_version=traffic.canary, policy=policy)
    if verdict.verdict == "rollback" and rollback:
        from nb2prod.rollout.verbs import apply

        request = TransitionRequest(
            "stop_canary", traffic.canary, actor=actor,
            reason=f"automatic rollback of canary {traffic.canary}: " + "; ".join(verdict.reasons),
            evidence={"verdict": verdict.to_dict(), "at": time.time()},
        )
        try:
            apply(store, name, request)
        except ConflictError:  # another replica's check (or an operator) changed the canary meanwhile: judge what is there now
            return check_canary(store, name, policy=policy, actor=actor, rollback=rollback)
    return verdict
