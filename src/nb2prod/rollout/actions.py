"""Rollout actions on the registry and audit log: shadow, control group, comparison, gate, canary check.

Each traffic change is one ``Registry.set_traffic`` call with a ``RegistryEvent`` saying who,
when and why (with the evidence), so the history explains every routing the service used.
"""

from __future__ import annotations

import time
from typing import Any

from nb2prod.errors import ConflictError, NotFoundError, UsageError
from nb2prod.models import (
    CanaryVerdict,
    GateDecision,
    RegistryEvent,
    RolloutPolicy,
    ShadowComparison,
    Traffic,
    VersionRecord,
    VersionState,
)
from nb2prod.rollout.canary import evaluate_canary
from nb2prod.rollout.compare import compare_shadow
from nb2prod.rollout.gate import shadow_gate
from nb2prod.rollout.mirror import pair_mirrored
from nb2prod.store import Store

__all__ = ["check_canary", "latest_gate", "run_gate", "set_control", "set_shadow", "shadow_comparison"]


def _percent(value: float, what: str, *, allow_full: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (0 < value <= 100 if allow_full else 0 < value < 100)
    if not ok:
        bounds = "above 0 and at most 100" if allow_full else "between 0 and 100 (exclusive)"
        raise UsageError(f"{what} percent must be {bounds}, got {value!r}", fix="e.g. 10")
    return float(value)


def _version(store: Store, ref: str, verb: str) -> VersionRecord:
    name, _, version = ref.partition(":")
    if not version:
        raise UsageError(f"say which version of {name!r} to {verb}", fix=f"give NAME:VERSION (see `nb2prod versions {name}`)")
    record = store.registry.resolve(ref)
    if store.registry.state(record.version_id) == VersionState.REFUSED:
        raise ConflictError(f"{record.version_id} was refused by a gate", fix="deploy a version that passes the gates")
    return record


def set_shadow(store: Store, ref: str, *, percent: float = 100.0, actor: str, reason: str = "") -> Traffic:
    """Run ``NAME:VERSION`` beside the live version on ``percent`` of live requests, off the response path."""
    share = _percent(percent, "shadow", allow_full=True)
    record = _version(store, ref, "shadow")
    traffic = store.registry.traffic(record.name)
    if traffic.live is None:
        raise ConflictError(f"{record.name!r} has no live version to shadow", fix=f"promote {record.version_id} instead")
    if traffic.live == record.version_id:
        raise ConflictError(f"{record.version_id} is live; it cannot shadow itself", fix="shadow a candidate version")
    replaced = traffic.shadow if traffic.shadow not in (None, record.version_id) else None
    routed = Traffic(**{**traffic.to_dict(), "shadow": record.version_id, "shadow_percent": share})
    store.registry.set_traffic(routed, RegistryEvent(
        name=record.name, action="shadow", version_id=record.version_id, actor=actor,
        reason=reason or f"shadow {record.version_id} on {share:g}% of live requests", evidence={"percent": share, "replaced": replaced},
    ), expected=traffic)
    if replaced:
        store.registry.set_state(replaced, VersionState.CANDIDATE)
    store.registry.set_state(record.version_id, VersionState.SHADOW)
    return store.registry.traffic(record.name)


def set_control(store: Store, ref: str, *, percent: float, actor: str, reason: str = "") -> Traffic:
    """Serve a fixed ``percent`` slice of traffic from a reference (control) version, always."""
    share = _percent(percent, "control", allow_full=False)
    record = _version(store, ref, "use as the control")
    traffic = store.registry.traffic(record.name)
    if traffic.live == record.version_id:
        raise ConflictError(f"{record.version_id} is live; the control group needs another version", fix="pick an earlier version")
    if share + traffic.canary_percent >= 100:
        raise UsageError(f"control {share:g}% + canary {traffic.canary_percent:g}% leaves no live traffic", fix="use a smaller share")
    routed = Traffic(**{**traffic.to_dict(), "control": record.version_id, "control_percent": share})
    store.registry.set_traffic(routed, RegistryEvent(
        name=record.name, action="control", version_id=record.version_id, actor=actor,
        reason=reason or f"control group: {share:g}% served by {record.version_id}", evidence={"percent": share},
    ), expected=traffic)
    store.registry.set_state(record.version_id, VersionState.CONTROL)
    return store.registry.traffic(record.name)


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
    events = store.audit.predictions(name, since=since)
    verdict = evaluate_canary(events, name=name, canary_version=traffic.canary, policy=policy)
    if verdict.verdict == "rollback" and rollback:
        routed = Traffic(**{**traffic.to_dict(), "canary": None, "canary_percent": 0.0})
        try:
            store.registry.set_traffic(routed, RegistryEvent(
                name=name, action="rollback", version_id=traffic.live, actor=actor,
                reason=f"automatic rollback of canary {traffic.canary}: " + "; ".join(verdict.reasons),
                evidence={"canary": traffic.canary, "verdict": verdict.to_dict(), "at": time.time()},
            ), expected=traffic)
        except ConflictError:  # another replica's check (or an operator) changed the routing meanwhile: judge what is there now
            return check_canary(store, name, policy=policy, actor=actor, rollback=rollback)
        store.registry.set_state(traffic.canary, VersionState.RETIRED)
    return verdict
