"""The traffic verbs every front reaches through the Workspace: promote, rollback, canary, shadow, control.

Each resolves its version, then applies one :class:`~nb2prod.rollout.transitions.TransitionRequest`
through ``Registry.apply`` (one transaction, compare-and-set on the routing; a writer that loses
the race plans again on the fresh state). The rules live in :mod:`nb2prod.rollout.transitions`.
"""

from __future__ import annotations

from nb2prod.errors import GateRefusedError, UsageError
from nb2prod.models import RolloutPolicy, Traffic, VersionRecord, VersionState
from nb2prod.rollout.transitions import TransitionRequest, percent, plan
from nb2prod.store import Store
from nb2prod.store.snapshot import Change

__all__ = ["apply", "canary", "control", "promote", "rollback", "shadow"]


def apply(store: Store, name: str, request: TransitionRequest, *, expected: Traffic | None = None) -> Change:
    """Plan ``request`` on the current state of ``name`` and write it in one transaction."""
    return store.registry.apply(name, lambda snapshot: plan(snapshot, request), expected=expected)


def _version(store: Store, ref: str, verb: str) -> VersionRecord:
    name, _, version = ref.partition(":")
    if not version:
        raise UsageError(f"say which version of {name!r} to {verb}", fix=f"give NAME:VERSION, e.g. {name}:v2026 (see `nb2prod versions {name}`)")
    return store.registry.resolve(ref)


def promote(store: Store, ref: str, *, actor: str, reason: str = "", approve: bool = False,
            policy: RolloutPolicy | None = None) -> Change:
    """Make ``NAME:VERSION`` live; a version in shadow passes the shadow gate first (``approve``: a human accepts a
    ``needs_approval`` verdict, never a ``blocked`` one)."""
    from nb2prod.rollout.actions import run_gate

    record = _version(store, ref, "promote")
    name, version_id = record.name, record.version_id
    gate = None
    if store.registry.state(version_id) == VersionState.SHADOW and store.registry.traffic(name).live != version_id:
        decision = run_gate(store, name, candidate=version_id, policy=policy, actor=actor)
        if decision.verdict == "needs_approval" and approve:
            gate, reason = "approved", reason or "approved by a human after the shadow gate asked for approval"
        elif decision.verdict != "pass":
            fix = (f"if you accept it, approve with `nb2prod promote {name}:{version_id} --approve`"
                   if decision.verdict == "needs_approval" else "keep shadowing to gather evidence, or retrain")
            raise GateRefusedError(f"shadow gate: {decision.verdict} — " + "; ".join(decision.reasons), fix=fix,
                                   evidence=decision.to_dict())
        else:
            gate = "pass"
    return apply(store, name, TransitionRequest("promote", version_id, actor=actor, reason=reason, gate=gate))


def rollback(store: Store, name: str, *, to: str | None = None, actor: str, reason: str = "") -> Change:
    """Stop a running canary, else make the previously live version (or ``to``) live again."""
    target = _version(store, f"{name}:{to}", "roll back to").version_id if to is not None else None
    return apply(store, name, TransitionRequest("rollback", target, actor=actor, reason=reason))


def canary(store: Store, ref: str, share: object, *, actor: str, reason: str = "", approve: bool = False) -> Change:
    """Send ``share`` percent (0 < p < 100) of the deployment's traffic to ``NAME:VERSION``.

    Like promote, a version whose latest recorded shadow gate blocked it needs ``approve`` (a human
    accepting the risk; recorded in the event)."""
    from nb2prod.rollout.actions import latest_gate

    value = percent(share, "canary", allow_full=False)
    record = _version(store, ref, "canary")
    event = latest_gate(store, record.name, record.version_id)
    gate = None if event is None else str(event.evidence.get("verdict"))
    if gate == "blocked" and approve:
        gate = "approved"
    return apply(store, record.name, TransitionRequest("canary", record.version_id, value, actor=actor, reason=reason, gate=gate))


def shadow(store: Store, ref: str, share: object = 100.0, *, actor: str, reason: str = "") -> Change:
    """Run ``NAME:VERSION`` beside the live version on ``share`` percent of live requests, off the response path."""
    value = percent(share, "shadow", allow_full=True)
    record = _version(store, ref, "shadow")
    return apply(store, record.name, TransitionRequest("shadow", record.version_id, value, actor=actor, reason=reason))


def control(store: Store, ref: str, share: object, *, actor: str, reason: str = "") -> Change:
    """Always serve a fixed ``share`` percent of traffic from a reference (control) version."""
    value = percent(share, "control", allow_full=False)
    record = _version(store, ref, "use as the control")
    return apply(store, record.name, TransitionRequest("control", record.version_id, value, actor=actor, reason=reason))
