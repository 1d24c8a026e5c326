"""Invariants every reachable registry state keeps, and the replay of a deployment's history (shared by the tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nb2prod.models import RegistryEvent, Traffic, VersionRecord, VersionState
from nb2prod.rollout.transitions import ROLES, TransitionRequest, advance, plan
from nb2prod.store.snapshot import RegistrySnapshot

ROLE_STATE = {"live": VersionState.LIVE, "shadow": VersionState.SHADOW, "canary": VersionState.CANARY, "control": VersionState.CONTROL}


def record(name: str, version_id: str) -> VersionRecord:
    return VersionRecord(version_id=version_id, name=name, created_at=f"2026-01-01T00:00:{version_id}", model_hash="h")


def routing(traffic: Traffic) -> dict[str, Any]:
    return {k: v for k, v in traffic.to_dict().items() if k != "updated_at"}


def check_invariants(traffic: Traffic, states: Mapping[str, VersionState]) -> None:
    """One live version once any is deployed; shares in range; every routed version in its role's state and back."""
    live_states = sorted(v for v, s in states.items() if s == VersionState.LIVE)
    assert live_states == ([traffic.live] if traffic.live else []), (traffic, states)
    if any(s != VersionState.REFUSED for s in states.values()):
        assert traffic.live is not None, (traffic, states)
    assert 0 < traffic.shadow_percent <= 100
    assert 0 <= traffic.canary_percent < 100 and 0 <= traffic.control_percent < 100
    assert traffic.canary_percent + traffic.control_percent < 100
    holders = [getattr(traffic, role) for role in ROLES if getattr(traffic, role)]
    assert len(holders) == len(set(holders)), f"a version holds two roles: {traffic}"
    for role in ROLES:
        holder = getattr(traffic, role)
        if holder is not None:
            assert states.get(holder) == ROLE_STATE[role], (role, traffic, states)
        elif role != "live":
            assert getattr(traffic, f"{role}_percent") == (100.0 if role == "shadow" else 0.0), traffic
    for version, state in states.items():
        role = next((r for r, s in ROLE_STATE.items() if s == state), None)
        if role is not None:
            assert getattr(traffic, role) == version, (version, state, traffic)


def request_of(event: RegistryEvent) -> TransitionRequest | None:
    """The transition an event records (``None`` for events that change no routing: gates, policies…)."""
    asked = event.evidence.get("transition")
    if not asked:
        return None
    kind = asked["kind"]
    return TransitionRequest(
        kind, asked["version_id"], asked["percent"], actor=event.actor, expected_live=asked["expected_live"], gate=asked["gate"],
        record=record(event.name, event.version_id) if kind == "deploy" and event.version_id else None,
    )


def replay(name: str, events_oldest_first: Iterable[RegistryEvent]) -> RegistrySnapshot:
    """Plan every recorded transition again from an empty deployment; each must be accepted and give the recorded routing."""
    snapshot = RegistrySnapshot(name=name, traffic=Traffic(name=name), states={})
    for event in events_oldest_first:
        request = request_of(event)
        if request is None:
            continue
        change = plan(snapshot, request)
        assert routing(change.traffic) == {"name": name, **event.evidence["routing"]}, event
        snapshot = advance(snapshot, change)
    return snapshot
