"""The retraining loop end to end in a temp workspace: deploy with papermill, a failed retrain, then the full loop to promotion.

One real deploy of the example notebook (tiny n_samples) plus one retrain deploy; the shadow
period's audit rows are written directly (this test stands in for a service that shadows).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nb2prod.api import Workspace
from nb2prod.examples.credit import TARGET, make_credit_data
from nb2prod.models import AuditEvent, Feedback, VersionState

NOTEBOOK = Path(__file__).resolve().parents[2] / "example_notebooks" / "credit_default.ipynb"


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    ws = Workspace.open()
    yield ws
    ws.stop()
    ws.close()


def _labelled_requests(ws: Workspace, live: str, n: int) -> None:
    frame = make_credit_data(n, seed=77)
    now = time.time()
    rows = frame.drop(columns=[TARGET]).to_dict(orient="records")
    ws.store.audit.write([AuditEvent(f"fb-{i}", "credit", live, now - 100 + i * 1e-3, row, output=0, score=0.2)
                          for i, row in enumerate(rows)])
    ws.store.audit.add_feedback([Feedback(f"fb-{i}", label=int(y)) for i, y in enumerate(frame[TARGET])])


def test_retrain_loop_end_to_end(workspace: Workspace) -> None:
    ws = workspace
    v1 = ws.deploy_notebook(NOTEBOOK, name="credit", holdout_vars=["X_test", "y_test"],
                            parameters={"n_samples": 1500, "seed": 42}, protected=["gender"], favorable=0).version_id
    ws.set_retrain_policy("credit", max_age_days=30, auto_promote=True)

    # a retrain whose notebook fails leaves the live model serving and records why
    failed = ws.retrain("credit", parameters={"scenario": "no_such_scenario"}, check=False)
    assert failed.outcome == "failed" and failed.candidate is None
    assert [s.step for s in failed.steps] == ["contract", "feedback", "train", "result"]
    assert "no_such_scenario" in failed.steps[2].detail
    assert ws.store.registry.traffic("credit").live == v1 and ws.store.registry.state(v1) == VersionState.LIVE
    assert ws.runs(limit=1)[0].status == "failed"

    # the full loop: contract on fresh data, feedback labels in, papermill training, shadow, gate, automatic promotion
    _labelled_requests(ws, v1, 120)
    seen: list[str] = []

    def shadow_period(candidate: str) -> None:
        assert ws.store.registry.state(candidate) == VersionState.SHADOW and ws.store.registry.traffic("credit").live == v1
        seen.append(candidate)
        rows = make_credit_data(150, seed=78).drop(columns=[TARGET]).to_dict(orient="records")
        now = time.time()
        ws.store.audit.write([AuditEvent(f"sh-{i}", "credit", v1, now + i * 1e-3, row, output=0, score=0.2,
                                         shadow_version=candidate, shadow_output=0, shadow_score=0.21)
                              for i, row in enumerate(rows)])

    fresh = make_credit_data(2500, seed=42)
    # tiny samples make holdout AUCs noisy: widen the validation gate's tolerance so this test checks orchestration
    result = ws.retrain("credit", data=fresh, parameters={"n_samples": 2500}, before_gate=shadow_period, check=False,
                        deploy_options={"tolerance": 0.2})
    steps = {s.step: s for s in result.steps}
    assert steps["contract"].status == "ok"
    assert steps["feedback"].status == "ok" and steps["feedback"].evidence["rows"] == 120
    assert steps["train"].status == "ok", steps["train"].detail
    assert steps["shadow_gate"].status == "ok" and steps["promote"].status == "ok"
    assert result.outcome == "promoted" and seen == [result.candidate]
    assert result.live_before == v1 and result.live_after == result.candidate
    assert ws.store.registry.state(v1) == VersionState.RETIRED
    # the run got the new data and the feedback through its parameters, and is journalled
    run = ws.store.runs.get(result.run_id) if result.run_id else None
    assert run is not None and run.status == "succeeded"
    assert Path(run.parameters["data_path"]).is_file() and Path(run.parameters["feedback_path"]).is_file()
    assert run.parameters["n_samples"] == 2500
    executed = Path(run.output).read_text()
    assert "120 labelled requests from the service added" in executed
    new = ws.store.registry.get(result.candidate)
    assert new.parent == v1
    events = [e for e in ws.store.registry.events("credit") if e.action == "retrain" and e.evidence["retrain_id"] == result.retrain_id]
    assert [e.evidence["step"] for e in reversed(events)] == ["contract", "feedback", "train", "shadow_gate", "promote", "result"]
