"""Traffic transitions: one typed refusal per kind, and random sequences against the pure functions and a real registry.

The state machine plans every request with the pure functions (the model) and applies the same
request through ``Registry.apply`` on SQLite; after each step both agree, the invariants hold and
the registry's history replays to its current routing.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from transition_checks import check_invariants, record, replay, routing

from nb2prod.api import Workspace
from nb2prod.errors import ConflictError, GateRefusedError, Nb2prodError, NotFoundError, UsageError
from nb2prod.models import Traffic, VersionState
from nb2prod.rollout.transitions import TransitionRequest, advance, allowed_actions, percent, plan, rollback_target, shares
from nb2prod.store import Store
from nb2prod.store.snapshot import Change, RegistrySnapshot

NAME = "credit"
EMPTY = RegistrySnapshot(name=NAME, traffic=Traffic(name=NAME), states={})


def _run(snapshot: RegistrySnapshot, *requests: TransitionRequest) -> RegistrySnapshot:
    for request in requests:
        snapshot = advance(snapshot, plan(snapshot, request))
    return snapshot


def _deploy(version_id: str, *, live: str | None = None, shadow: float | None = None) -> TransitionRequest:
    return TransitionRequest("deploy", version_id, shadow, record=record(NAME, version_id), expected_live=live)


def _three() -> RegistrySnapshot:
    """v1 retired, v2 live, v3 a candidate that once shadowed."""
    s = _run(EMPTY, _deploy("v1"), _deploy("v2", live="v1"), _deploy("v3", live="v2", shadow=50))
    return _run(s, TransitionRequest("shadow", "v3", 100), TransitionRequest("canary", "v3", 10))


# -- the pure functions ------------------------------------------------------------------------------------------
def test_a_plain_deploy_keeps_a_running_canary_control_and_shadow() -> None:
    s = _run(EMPTY, _deploy("v1"), _deploy("v2", live="v1"), _deploy("v3", live="v2"), _deploy("v4", live="v3", shadow=30))
    s = _run(s, TransitionRequest("canary", "v1", 10), TransitionRequest("control", "v2", 5))
    after = _run(s, _deploy("v5", live="v3"))
    t = after.traffic
    assert (t.live, t.shadow, t.canary, t.control) == ("v5", "v4", "v1", "v2")
    assert (after.states["v3"], after.states["v4"], after.states["v1"], after.states["v2"]) == (
        VersionState.RETIRED, VersionState.SHADOW, VersionState.CANARY, VersionState.CONTROL)
    check_invariants(t, after.states)


def test_each_refusal_kind_has_one_error_class() -> None:
    s = _three()
    refused = RegistrySnapshot(name=NAME, traffic=s.traffic, states={**s.states, "v9": VersionState.REFUSED}, lives=s.lives)
    cases: list[tuple[RegistrySnapshot, TransitionRequest, type[Nb2prodError], str]] = [
        (s, TransitionRequest("canary", "v1", 0), UsageError, "between 0 and 100"),
        (s, TransitionRequest("shadow", "v1", 101), UsageError, "at most 100"),
        (s, TransitionRequest("control", "v1", True), UsageError, "percent"),  # type: ignore[arg-type]
        (s, TransitionRequest("control", "v1", 95), UsageError, "leaves no live traffic"),
        (s, TransitionRequest("promote", None), UsageError, "which version"),
        (s, TransitionRequest("promote", "v7"), NotFoundError, "no version 'v7'"),
        (refused, TransitionRequest("promote", "v9"), GateRefusedError, "refused by a gate"),
        (refused, TransitionRequest("canary", "v9", 10), GateRefusedError, "refused by a gate"),
        (refused, TransitionRequest("shadow", "v9", 10), GateRefusedError, "refused by a gate"),
        (refused, TransitionRequest("control", "v9", 10), GateRefusedError, "refused by a gate"),
        (refused, TransitionRequest("rollback", "v9"), GateRefusedError, "refused by a gate"),
        (s, TransitionRequest("promote", "v2"), ConflictError, "already live"),
        (s, TransitionRequest("canary", "v2", 10), ConflictError, "live already"),
        (s, TransitionRequest("shadow", "v2", 10), ConflictError, "cannot shadow itself"),
        (s, TransitionRequest("rollback", "v2"), ConflictError, "already live"),
        (s, TransitionRequest("stop_canary", "v1"), ConflictError, "now v3, not v1"),
        (s, _deploy("v8", live="v1"), ConflictError, "became live"),
        (s, _deploy("v3", live="v2"), ConflictError, "already registered"),
        (EMPTY, _deploy("v1", shadow=10), ConflictError, "no live version"),
        (EMPTY, TransitionRequest("rollback"), ConflictError, "no earlier live version"),
    ]
    for snapshot, request, error, needle in cases:
        with pytest.raises(error, match=needle):
            plan(snapshot, request)


def test_a_shadow_is_promoted_only_with_its_gate_verdict() -> None:
    s = _run(EMPTY, _deploy("v1"), _deploy("v2", live="v1", shadow=100))
    with pytest.raises(GateRefusedError, match="shadow gate"):
        plan(s, TransitionRequest("promote", "v2"))
    after = _run(s, TransitionRequest("promote", "v2", gate="approved"))
    assert (after.traffic.live, after.traffic.shadow, after.states["v1"]) == ("v2", None, VersionState.RETIRED)


def test_rollback_stops_the_canary_first_then_goes_back_one_live_version() -> None:
    s = _three()
    assert s.traffic.canary == "v3"
    s = _run(s, TransitionRequest("rollback"))
    assert (s.traffic.canary, s.states["v3"], s.traffic.live) == (None, VersionState.RETIRED, "v2")
    assert rollback_target(s) == "v1"
    s = _run(s, TransitionRequest("rollback"))
    assert (s.traffic.live, s.states["v2"], rollback_target(s)) == ("v1", VersionState.RETIRED, "v2")


def test_rollback_stops_the_canary_then_the_control_group_before_replacing_live() -> None:
    s = _run(EMPTY, _deploy("v1"), _deploy("v2", live="v1"), _deploy("v3", live="v2", shadow=100))
    s = _run(s, TransitionRequest("canary", "v3", 10), TransitionRequest("control", "v1", 20))
    s = _run(s, TransitionRequest("rollback"))
    assert (s.traffic.canary, s.traffic.control, s.traffic.live) == (None, "v1", "v2")
    change = plan(s, TransitionRequest("rollback"))
    assert "stopped the control group v1 (20%)" in change.event.reason
    s = advance(s, change)
    assert (s.traffic.control, s.states["v1"], s.traffic.live) == (None, VersionState.RETIRED, "v2")
    assert shares(s.traffic) == {"v2": 100.0}
    check_invariants(s.traffic, s.states)
    s = _run(s, TransitionRequest("rollback"))
    assert s.traffic.live == "v1"


def test_a_canary_turned_control_group_says_so() -> None:
    s = _run(EMPTY, _deploy("v1"), _deploy("v2", live="v1"), TransitionRequest("canary", "v1", 10))
    change = plan(s, TransitionRequest("control", "v1", 10))
    assert "it was the canary, which stops" in change.event.reason
    assert (change.traffic.canary, change.traffic.control) == (None, "v1")


def test_allowed_actions_are_what_plan_accepts() -> None:
    s = _run(EMPTY, _deploy("v1"), _deploy("v2", live="v1"), _deploy("v3", live="v2", shadow=20))
    s = RegistrySnapshot(name=NAME, traffic=s.traffic, states={**s.states, "v4": VersionState.CANDIDATE, "v9": VersionState.REFUSED},
                         lives=s.lives)
    assert allowed_actions(s, "v2") == ()  # live
    assert allowed_actions(s, "v9") == ()  # refused
    assert allowed_actions(s, "v1") == ("rollback", "control")  # retired: only back by a rollback
    assert allowed_actions(s, "v3") == ("promote", "canary", "control")  # the shadow; promoting runs its gate
    assert allowed_actions(s, "v4") == ("promote", "canary", "shadow", "control")
    assert shares(s.traffic) == {"v2": 100.0}
    s = _run(s, TransitionRequest("canary", "v4", 30), TransitionRequest("control", "v1", 10))
    assert shares(s.traffic) == {"v2": 60.0, "v4": 30.0, "v1": 10.0}
    assert percent(100, "shadow", allow_full=True) == 100.0


def test_the_workspace_reports_allowed_actions_and_the_rollback_target(workspace: Workspace) -> None:
    store = workspace.store
    for request in (_deploy("v1"), _deploy("v2", live="v1"), _deploy("v3", live="v2", shadow=20)):
        store.registry.apply(NAME, lambda snapshot, r=request: plan(snapshot, r))
    status = workspace.deployment(NAME)
    actions = {v.record.version_id: v.actions for v in status.versions}
    assert actions == {"v1": ("rollback", "control"), "v2": (), "v3": ("promote", "canary", "control")}
    assert (status.rollback_stops, status.rollback_target) == (None, "v1")
    status = workspace.canary(f"{NAME}:v3", 10)
    assert (status.rollback_stops, status.rollback_target) == ("v3", None)
    assert {v.record.version_id: v.traffic_percent for v in status.versions} == {"v1": 0.0, "v2": 90.0, "v3": 10.0}
    assert status.to_dict()["versions"][0]["actions"] == list(status.versions[0].actions)


# -- random sequences: the pure functions and a real registry agree, and the invariants hold --------------------
VERSIONS = st.sampled_from([f"v{i}" for i in range(1, 8)])
PERCENTS = st.sampled_from([0, 1, 5.5, 10, 30, 50, 99, 100, 120])


class Transitions(RuleBasedStateMachine):
    """Each example is its own deployment in one SQLite store (opening a store per example would dominate the run)."""

    store: Store
    examples = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.name = f"d{next(self.examples)}"
        refused = self.v("v0")
        self.store.registry.add_version(record(self.name, refused), state=VersionState.REFUSED)  # never gets traffic
        self.model = RegistrySnapshot(name=self.name, traffic=Traffic(name=self.name), states={refused: VersionState.REFUSED})
        self.deployed = 0
        self.undo: TransitionRequest | None = None

    def v(self, version: str | None) -> str | None:
        return None if version is None else f"{self.name}-{version}"  # version ids are unique across deployments

    def _both(self, request: TransitionRequest) -> Change | None:
        """Plan on the model and apply to the registry: both accept (same change) or both refuse (same error class)."""
        try:
            expected: Change | Nb2prodError = plan(self.model, request)
        except Nb2prodError as exc:
            expected = exc
        try:
            got = self.store.registry.apply(self.name, lambda snapshot: plan(snapshot, request))
        except Nb2prodError as exc:
            assert isinstance(expected, Nb2prodError) and type(exc) is type(expected), (request, exc, expected)
            return None
        assert isinstance(got, Change) and not isinstance(expected, Nb2prodError), (request, expected)
        assert routing(got.traffic) == routing(expected.traffic) and got.states == expected.states
        self.model = advance(self.model, got)
        return got

    @rule(shadow=st.one_of(st.none(), PERCENTS), stale=st.booleans())
    def deploy(self, shadow: float | None, stale: bool) -> None:
        version_id = self.v(f"v{self.deployed + 1}")
        assert version_id is not None
        live = self.model.traffic.live
        expected_live = self.v("v0") if stale else live
        request = TransitionRequest("deploy", version_id, shadow, record=record(self.name, version_id), expected_live=expected_live)
        if self._both(request):
            self.deployed += 1
            self.undo = TransitionRequest("undeploy", version_id, expected_live=live)
        else:
            self.undo = None

    @precondition(lambda self: self.undo is not None)
    @rule()
    def undo_last_deploy(self) -> None:
        assert self.undo is not None
        self._both(self.undo)
        self.undo = None

    @rule(kind=st.sampled_from(["shadow", "canary", "control"]), version=VERSIONS, share=PERCENTS)
    def split(self, kind: Any, version: str, share: float) -> None:
        self._both(TransitionRequest(kind, self.v(version), share))
        self.undo = None

    @rule(version=VERSIONS, gate=st.sampled_from([None, "pass"]))
    def promote(self, version: str, gate: str | None) -> None:
        self._both(TransitionRequest("promote", self.v(version), gate=gate))
        self.undo = None

    @rule(to=st.one_of(st.none(), VERSIONS))
    def rollback(self, to: str | None) -> None:
        self._both(TransitionRequest("rollback", self.v(to)))
        self.undo = None

    @rule(version=st.one_of(st.none(), VERSIONS))
    def stop_canary(self, version: str | None) -> None:
        self._both(TransitionRequest("stop_canary", self.v(version)))
        self.undo = None

    @invariant()
    def registry_matches_the_model_and_keeps_the_invariants(self) -> None:
        stored = self.store.registry.snapshot(self.name)
        assert routing(stored.traffic) == routing(self.model.traffic)
        assert dict(stored.states) == dict(self.model.states) and stored.lives == self.model.lives
        check_invariants(stored.traffic, stored.states)
        for version in stored.states:
            for action in allowed_actions(stored, version):
                share = 1.0 if action in ("canary", "control") else 100.0 if action == "shadow" else None
                plan(stored, TransitionRequest(action, version, share, gate="pass"))  # type: ignore[arg-type]

    @invariant()
    def the_history_replays_to_the_current_routing(self) -> None:
        events = list(reversed(self.store.registry.events(self.name, limit=10_000)))
        replayed = replay(self.name, events)
        assert routing(replayed.traffic) == routing(self.store.registry.traffic(self.name))


def test_random_transition_sequences(tmp_path: Path) -> None:
    """Bounded: 30 sequences of up to 20 steps (a few seconds)."""
    with Store.open(f"sqlite:///{tmp_path / 'nb2prod.db'}") as store:
        Transitions.store = store
        run_state_machine_as_test(Transitions, settings=settings(
            max_examples=30, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]))
