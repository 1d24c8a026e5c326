"""A version the shadow gate blocked gets real traffic as a canary only when a human approves, like promote."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from transition_checks import record

from nb2prod.api import Workspace
from nb2prod.cli import main
from nb2prod.errors import GateRefusedError
from nb2prod.models import RegistryEvent, Traffic
from nb2prod.rollout.transitions import TransitionRequest, advance, allowed_actions, plan
from nb2prod.store.snapshot import RegistrySnapshot

NAME = "credit"


def _shadowing() -> RegistrySnapshot:
    """v1 live, v2 its shadow."""
    s = RegistrySnapshot(name=NAME, traffic=Traffic(name=NAME), states={})
    for request in (TransitionRequest("deploy", "v1", record=record(NAME, "v1")),
                    TransitionRequest("deploy", "v2", 100, record=record(NAME, "v2"), expected_live="v1")):
        s = advance(s, plan(s, request))
    return s


def test_the_canary_transition_refuses_a_blocked_version_unless_approved() -> None:
    s = _shadowing()
    with pytest.raises(GateRefusedError, match="the shadow gate blocked v2") as err:
        plan(s, TransitionRequest("canary", "v2", 10, gate="blocked"))
    assert "--approve" in str(err.value) and len(str(err.value).splitlines()) == 1
    change = plan(s, TransitionRequest("canary", "v2", 10, gate="approved"))
    assert change.traffic.canary == "v2" and "approved by a human" in change.event.reason
    assert change.event.evidence["transition"]["gate"] == "approved"
    for verdict in (None, "pass", "needs_approval"):  # never gated, or not blocked: as before
        assert plan(s, TransitionRequest("canary", "v2", 10, gate=verdict)).traffic.canary == "v2"
    assert allowed_actions(s, "v2", "blocked") == ("promote", "control")
    assert allowed_actions(s, "v2", "pass") == ("promote", "canary", "control")


@pytest.fixture
def shadowed() -> Iterator[Workspace]:
    """The workspace of NB2PROD_HOME (so the CLI sees it): credit-v1 live, credit-v2 its shadow, blocked by the gate."""
    ws = Workspace.open()
    for request in (TransitionRequest("deploy", "credit-v1", record=record(NAME, "credit-v1")),
                    TransitionRequest("deploy", "credit-v2", 100, record=record(NAME, "credit-v2"), expected_live="credit-v1")):
        ws.store.registry.apply(NAME, lambda snapshot, r=request: plan(snapshot, r))
    ws.store.registry.record_event(RegistryEvent(NAME, "gate", "credit-v2", "ana", "shadow gate: blocked — disagrees on 40%",
                                                 evidence={"verdict": "blocked", "compared": 500}))
    yield ws
    ws.close()


def test_canary_of_a_blocked_version_needs_approve_from_the_api_and_cli(shadowed: Workspace,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    actions = {v.record.version_id: v.actions for v in shadowed.deployment(NAME).versions}
    assert "canary" not in actions["credit-v2"]
    with pytest.raises(GateRefusedError, match="the shadow gate blocked credit-v2"):
        shadowed.canary(f"{NAME}:credit-v2", 10)
    assert shadowed.store.registry.traffic(NAME).canary is None
    assert main(["canary", f"{NAME}:credit-v2", "--percent", "10"]) != 0
    err = capsys.readouterr().err
    assert "the shadow gate blocked credit-v2" in err and "--approve" in err and "Traceback" not in err
    assert main(["canary", f"{NAME}:credit-v2", "--percent", "10", "--approve"]) == 0
    event = shadowed.store.registry.events(NAME, limit=1)[0]
    assert (event.action, event.version_id, event.evidence["transition"]["gate"]) == ("canary", "credit-v2", "approved")
    assert shadowed.store.registry.traffic(NAME).canary == "credit-v2"


def test_a_later_passing_gate_lifts_the_block(shadowed: Workspace) -> None:
    shadowed.store.registry.record_event(RegistryEvent(NAME, "gate", "credit-v2", "ana", "shadow gate: pass",
                                                       evidence={"verdict": "pass", "compared": 900}))
    assert shadowed.canary(f"{NAME}:credit-v2", 10).traffic.canary == "credit-v2"
