"""The core behind the panels' buttons: Workspace.promote / canary / rollback and the deployment views."""

from __future__ import annotations

import pytest
from panel_seed import seed_registry, version_record

from nb2prod.api import Workspace
from nb2prod.errors import ConflictError, GateRefusedError, NotFoundError, UsageError


def states(ws: Workspace) -> dict[str, str]:
    return {v.record.version_id: v.state.value for v in ws.deployment("credit").versions}


def test_deployment_views_show_shares_and_history(workspace: Workspace) -> None:
    seed_registry(workspace)
    [listed] = workspace.deployments()
    assert listed.name == "credit" and listed.events == ()
    assert [(v.record.version_id, v.traffic_percent) for v in listed.versions] == [("credit-v3", 0.0), ("credit-v2", 100.0), ("credit-v1", 0.0)]
    assert [e.action for e in workspace.deployment("credit", history=2).events] == ["gate_refused", "deploy"]
    with pytest.raises(NotFoundError):
        workspace.deployment("nosuch")
    with pytest.raises(UsageError):
        workspace.deployment("Not A Name")


def test_promoting_the_canary_ends_the_canary(workspace: Workspace) -> None:
    seed_registry(workspace)
    workspace.canary("credit:credit-v1", 25, actor="ana")
    assert states(workspace) == {"credit-v3": "refused", "credit-v2": "live", "credit-v1": "canary"}
    status = workspace.promote("credit:credit-v1", actor="ana")
    assert (status.traffic.live, status.traffic.canary, status.traffic.canary_percent) == ("credit-v1", None, 0.0)
    assert states(workspace) == {"credit-v3": "refused", "credit-v2": "retired", "credit-v1": "live"}
    evidence = status.events[0].evidence
    assert status.events[0].actor == "ana" and (evidence["previous"], evidence["from_state"]) == ("credit-v2", "canary")
    assert evidence["routing"]["live"] == "credit-v1" and evidence["transition"]["kind"] == "promote"


def test_a_new_canary_sends_the_old_one_back_to_candidate(workspace: Workspace) -> None:
    seed_registry(workspace)
    workspace.store.registry.add_version(version_record("credit", 4, None, auc=0.83))
    workspace.canary("credit:credit-v1", 10)
    status = workspace.canary("credit:credit-v4", 20)
    assert (status.traffic.canary, status.traffic.canary_percent) == ("credit-v4", 20.0)
    assert states(workspace)["credit-v1"] == "candidate"
    assert status.events[0].evidence["replaced"] == "credit-v1"


def test_rollback_goes_back_and_forth_between_the_last_two_live_versions(workspace: Workspace) -> None:
    seed_registry(workspace)
    assert workspace.rollback("credit").traffic.live == "credit-v1"
    assert workspace.rollback("credit").traffic.live == "credit-v2"
    assert workspace.rollback("credit", to="credit-v1").traffic.live == "credit-v1"
    assert states(workspace)["credit-v2"] == "retired"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda ws: ws.promote("credit"), UsageError),
        (lambda ws: ws.promote("credit:credit-v3"), GateRefusedError),
        (lambda ws: ws.promote("credit:credit-v2"), ConflictError),
        (lambda ws: ws.canary("credit:credit-v1", 0), UsageError),
        (lambda ws: ws.canary("credit:credit-v1", 100), UsageError),
        (lambda ws: ws.canary("credit:credit-v1", True), UsageError),
        (lambda ws: ws.canary("credit:credit-v3", 5), GateRefusedError),
        (lambda ws: ws.rollback("credit", to="credit-v9"), NotFoundError),
        (lambda ws: ws.drift_series("credit", points=0), UsageError),
    ],
)
def test_refusals_leave_the_routing_alone(workspace: Workspace, call: object, error: type[Exception]) -> None:
    seed_registry(workspace)
    before = workspace.store.registry.traffic("credit")
    with pytest.raises(error):
        call(workspace)  # type: ignore[operator]
    assert workspace.store.registry.traffic("credit") == before
