"""Shadow, canary and control through the core API and CLI: shadow → gate → promote/approve, canary auto-rollback, control group."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nb2prod.api import Workspace
from nb2prod.cli import main
from nb2prod.errors import ConflictError, GateRefusedError, NotFoundError, UsageError
from nb2prod.models import AuditEvent, Feedback, RegistryEvent, RolloutPolicy, Traffic, VersionRecord, VersionState


def _setup(ws: Workspace) -> None:
    reg = ws.store.registry
    for i, vid in enumerate(["credit-v1", "credit-v2", "credit-v3"]):
        reg.add_version(VersionRecord(vid, "credit", f"2026-11-23T1{i}:00:00", "h", extra={"protected": ["gender"]}))
    reg.set_traffic(Traffic(name="credit", live="credit-v1"), RegistryEvent("credit", "deploy", "credit-v1", "ana", "first"))
    reg.set_state("credit-v1", VersionState.LIVE)


def _shadow_traffic(ws: Workspace, n: int, *, flip: float, better: bool = False, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    now = time.time()
    rows, labels = [], []
    for i in range(n):
        truth = int(rng.random() < 0.3)
        live = truth if rng.random() < 0.8 else 1 - truth
        cand = (truth if live != truth and rng.random() < flip / 0.2 else live) if better else (1 - live if rng.random() < flip else live)
        rid = f"s{seed}-{i}"
        rows.append(AuditEvent(rid, "credit", "credit-v1", now + i * 1e-3, {"gender": ["f", "m"][i % 2]}, output=live, score=0.4 + 0.2 * live,
                               shadow_version="credit-v2", shadow_output=cand, shadow_score=0.4 + 0.2 * cand))
        labels.append(Feedback(rid, label=truth))
    ws.store.audit.write(rows)
    ws.store.audit.add_feedback(labels)


def test_divergent_shadow_is_refused_and_the_decision_recorded(workspace: Workspace) -> None:
    _setup(workspace)
    workspace.shadow("credit:credit-v2", percent=100)
    assert workspace.store.registry.state("credit-v2") == VersionState.SHADOW
    _shadow_traffic(workspace, 600, flip=0.3)
    comparison = workspace.compare("credit")
    assert comparison.overall.n == 600 and set(comparison.segments["gender"]) == {"f", "m"}
    with pytest.raises(GateRefusedError, match="shadow gate: blocked") as err:
        workspace.promote("credit:credit-v2")
    assert err.value.evidence["verdict"] == "blocked"
    assert workspace.store.registry.traffic("credit").live == "credit-v1"  # the live model is untouched
    gate_events = [e for e in workspace.store.registry.events("credit") if e.action == "gate"]
    assert gate_events and gate_events[0].evidence["verdict"] == "blocked" and gate_events[0].evidence["shadowed"] == 600


def test_agreeing_shadow_passes_and_is_promoted(workspace: Workspace) -> None:
    _setup(workspace)
    workspace.shadow("credit:credit-v2")
    _shadow_traffic(workspace, 300, flip=0.0)
    status = workspace.promote("credit:credit-v2")
    assert status.traffic.live == "credit-v2" and status.traffic.shadow is None
    assert workspace.store.registry.state("credit-v1") == VersionState.RETIRED


def test_better_but_divergent_needs_a_human(workspace: Workspace) -> None:
    _setup(workspace)
    workspace.shadow("credit:credit-v2")
    _shadow_traffic(workspace, 1000, flip=0.15, better=True, seed=4)
    with pytest.raises(GateRefusedError, match="needs_approval") as err:
        workspace.promote("credit:credit-v2")
    assert "--approve" in str(err.value)
    status = workspace.promote("credit:credit-v2", approve=True)
    assert status.traffic.live == "credit-v2"
    assert "approved by a human" in status.events[0].reason


def test_failing_canary_is_rolled_back_automatically(workspace: Workspace) -> None:
    _setup(workspace)
    workspace.canary("credit:credit-v3", 10)
    now = time.time() + 1
    rows = [AuditEvent(f"c{i}", "credit", "credit-v3" if i % 10 == 0 else "credit-v1", now + i * 1e-3, {}, output=1,
                       arm="canary" if i % 10 == 0 else "live", latency_ms=5.0,
                       error="RuntimeError: model crashed" if i % 10 == 0 and i % 30 == 0 else None)
            for i in range(1500)]
    workspace.store.audit.write(rows)
    verdict = workspace.check_canary("credit", policy=RolloutPolicy(min_requests=100))
    assert verdict.verdict == "rollback" and "error rate" in verdict.reasons[0]
    traffic = workspace.store.registry.traffic("credit")
    assert traffic.canary is None and traffic.live == "credit-v1"
    last = workspace.store.registry.events("credit")[0]
    assert last.action == "rollback" and last.reason.startswith("automatic rollback") and last.evidence["verdict"]["verdict"] == "rollback"
    with pytest.raises(NotFoundError, match="no canary"):
        workspace.check_canary("credit")


def test_replicas_racing_to_roll_back_a_canary_record_one_rollback(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every replica checks the canary: one that read the routing before another rolled it back changes nothing."""
    _setup(workspace)
    workspace.canary("credit:credit-v3", 10)
    now = time.time() + 1
    workspace.store.audit.write([
        AuditEvent(f"c{i}", "credit", "credit-v3", now + i * 1e-3, {}, output=1, arm="canary", latency_ms=5.0, error="RuntimeError: boom")
        for i in range(200)
    ])
    registry = workspace.store.registry
    stale = registry.traffic("credit")  # what the slower replica read
    assert workspace.check_canary("credit", policy=RolloutPolicy(min_requests=100)).verdict == "rollback"  # the faster one
    reads = iter([stale])
    real = type(registry).traffic
    monkeypatch.setattr(registry, "traffic", lambda name: next(reads, None) or real(registry, name))
    with pytest.raises(NotFoundError, match="no canary"):  # its write is refused, and on a fresh read there is no canary left
        workspace.check_canary("credit", policy=RolloutPolicy(min_requests=100))
    assert [e.action for e in registry.events("credit")].count("rollback") == 1


def test_a_traffic_change_computed_from_stale_routing_is_refused(workspace: Workspace) -> None:
    _setup(workspace)
    registry = workspace.store.registry
    before = registry.traffic("credit")
    workspace.canary("credit:credit-v3", 10)  # an operator, meanwhile
    with pytest.raises(ConflictError, match="changed while"):
        registry.set_traffic(Traffic(**{**before.to_dict(), "shadow": "credit-v2"}),
                             RegistryEvent(name="credit", action="shadow", version_id="credit-v2", actor="t", reason="r"), expected=before)
    traffic = registry.traffic("credit")
    assert (traffic.canary, traffic.shadow) == ("credit-v3", None)  # the operator's change stands, nothing half-written
    assert registry.events("credit")[0].action == "canary"


def test_control_group_and_bad_input(workspace: Workspace) -> None:
    _setup(workspace)
    traffic = workspace.control("credit:credit-v3", percent=5)
    assert (traffic.control, traffic.control_percent) == ("credit-v3", 5.0)
    with pytest.raises(UsageError):
        workspace.shadow("credit:credit-v2", percent=0)
    with pytest.raises(UsageError, match="which version"):
        workspace.shadow("credit")
    with pytest.raises(ConflictError, match="cannot shadow itself"):
        workspace.shadow("credit:credit-v1")
    with pytest.raises(NotFoundError, match="no shadow version"):
        workspace.compare("credit")


def test_cli_commands(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(workspace)
    home = str(workspace.settings.home)
    assert main(["--home", home, "shadow", "credit:credit-v2", "--percent", "50"]) == 0
    _shadow_traffic(workspace, 200, flip=0.0)
    assert main(["--home", home, "compare", "credit"]) == 0
    out = capsys.readouterr().out
    assert "agreement 100.0%" in out and "by gender" in out
    assert main(["--home", home, "gate", "credit"]) == 0
    assert "pass" in capsys.readouterr().out
    assert main(["--home", home, "promote", "credit:credit-v2"]) == 0
    assert "live credit-v2" in capsys.readouterr().out
    assert main(["--home", home, "rollback", "credit"]) == 0
    assert "live credit-v1" in capsys.readouterr().out
    assert main(["--home", home, "canary", "credit:credit-v3", "--percent", "200"]) == 2
    assert "between 0 and 100" in capsys.readouterr().err


def test_cli_compare_on_a_single_shadowed_request(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """One compared pair has a score difference but no KS test: the text output once raised a TypeError on it."""
    _setup(workspace)
    home = str(workspace.settings.home)
    assert main(["--home", home, "shadow", "credit:credit-v2", "--percent", "100"]) == 0
    _shadow_traffic(workspace, 1, flip=0.0)
    assert main(["--home", home, "compare", "credit"]) == 0
    out, err = capsys.readouterr()
    assert "on 1 compared requests" in out and "KS - (p=-)" in out and not err

def test_cli_gate_exits_with_the_gate_refused_code_when_it_blocks(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(workspace)
    home = str(workspace.settings.home)
    assert main(["--home", home, "shadow", "credit:credit-v2", "--percent", "100"]) == 0
    _shadow_traffic(workspace, 40, flip=0.0)  # agreeing, but too few compared rows to decide
    assert main(["--home", home, "gate", "credit"]) == GateRefusedError.exit_code == 8
    assert "needs more data: only 40 shadowed requests compared" in capsys.readouterr().out
    _shadow_traffic(workspace, 600, flip=0.3, seed=1)
    assert main(["--home", home, "gate", "credit", "--json"]) == 8
    assert '"verdict": "blocked"' in capsys.readouterr().out
    assert main(["--home", home, "compare", "credit"]) == 0
    assert "of 640 shadowed (completeness 100.0%; 0 candidate errors, 0 shadow timeouts not compared)" in capsys.readouterr().out
