"""Retraining without kernels: data contracts, retrain refusals before training, policies, expiry, alert triggers, CronJob."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from nb2prod.api import Workspace
from nb2prod.cli import main
from nb2prod.errors import GateRefusedError, NotFoundError, UsageError
from nb2prod.examples.credit import TARGET, make_credit_data
from nb2prod.models import AlertEvent, RegistryEvent, Traffic, VersionRecord, VersionState
from nb2prod.package.schema import infer_schema

NOTEBOOK = Path(__file__).resolve().parents[2] / "example_notebooks" / "credit_default.ipynb"


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    """The workspace of NB2PROD_HOME (set per test by the root conftest), so the CLI sees the same store."""
    ws = Workspace.open()
    yield ws
    ws.close()


def _live(ws: Workspace, *, days_old: float = 1.0, vid: str = "credit-v1") -> VersionRecord:
    """A live version as deploy records it (schema = the contract), written directly to the registry."""
    frame = make_credit_data(1500, seed=3).drop(columns=[TARGET])
    created = (datetime.now(UTC) - timedelta(days=days_old)).isoformat(timespec="seconds")
    record = VersionRecord(vid, "credit", created, "h", schema={"features": infer_schema(frame)},
                           params={"seed": 3, "n_samples": 1500, "output_dir": "/old/run"},
                           extra={"target": TARGET, "notebook": str(NOTEBOOK), "protected": ["gender"], "classes": [0, 1]})
    reg = ws.store.registry
    reg.add_version(record)
    reg.set_traffic(Traffic(name="credit", live=vid), RegistryEvent("credit", "deploy", vid, "ana", "first", ts=time.time() - days_old * 86_400))
    reg.set_state(vid, VersionState.LIVE)
    return record


def test_contract_accepts_same_distribution_and_reports_each_break(workspace: Workspace) -> None:
    record = _live(workspace)
    good = make_credit_data(800, seed=11)
    assert workspace.check_contract("credit", good).ok  # target column allowed, same distribution within tolerance
    broken = good.drop(columns=["income"]).assign(region="atlantis", age=good["age"].astype(str))
    broken.loc[:10, "credit_utilization"] = None
    broken["interest_rate"] = broken["interest_rate"] * 10
    report = workspace.check_contract("credit", broken)
    kinds = {(v.feature, v.kind) for v in report.violations}
    assert {("income", "missing"), ("region", "category"), ("interest_rate", "range"), ("credit_utilization", "nulls")} <= kinds
    assert ("age", "dtype") not in kinds  # numeric strings still parse as numbers
    broken["age"] = "forty"
    assert ("age", "dtype") in {(v.feature, v.kind) for v in workspace.check_contract("credit", broken).violations}
    assert "break the data contract" in report.summary() and record.version_id in report.summary()


def test_contract_breaking_data_is_stopped_before_any_kernel_starts(workspace: Workspace, tmp_path: Path) -> None:
    _live(workspace)
    data = tmp_path / "new.csv"
    make_credit_data(500, seed=5).drop(columns=["purpose"]).to_csv(data, index=False)
    with pytest.raises(GateRefusedError, match="data contract of credit-v1") as err:
        workspace.retrain("credit", data=str(data))
    steps = err.value.evidence["steps"]
    assert [s["step"] for s in steps] == ["contract", "result"] and steps[0]["status"] == "refused"
    assert any(v["feature"] == "purpose" and v["kind"] == "missing" for v in steps[0]["evidence"]["violations"])
    assert workspace.runs() == []  # no notebook run: nothing was trained
    assert workspace.store.registry.traffic("credit").live == "credit-v1"
    retrain_events = [e for e in workspace.store.registry.events("credit") if e.action == "retrain"]
    assert {e.evidence["step"] for e in retrain_events} == {"contract", "result"}
    # the CLI prints the report and exits with the gate's code
    assert main(["contract", "credit", str(data)]) == 8
    assert main(["retrain", "credit", "--data", str(data)]) == 8


def test_retrain_refuses_bad_requests_before_starting(workspace: Workspace) -> None:
    with pytest.raises(NotFoundError):
        workspace.retrain("nope")
    _live(workspace)
    with pytest.raises(UsageError, match="declares no parameter"):
        workspace.retrain("credit", parameters={"n_trees": 3})
    assert workspace.runs() == []


def test_policy_is_recorded_and_expiry_flags_old_models(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    _live(workspace, days_old=45)
    assert workspace.retrain_policy("credit") is None
    assert not workspace.schedule()[0].due  # no policy: never expires
    workspace.set_retrain_policy("credit", max_age_days=30, on_alerts=(), parameters={"n_samples": 2000})
    policy = workspace.retrain_policy("credit")
    assert policy is not None and policy.max_age_days == 30 and policy.parameters == {"n_samples": 2000}
    [item] = workspace.schedule()
    assert item.expired and item.due and item.age_days is not None and 44 < item.age_days < 46
    assert "expired" in item.reasons[0]
    assert main(["schedule"]) == 0
    assert "EXPIRED" in capsys.readouterr().out
    status = workspace.deployment("credit").to_dict()  # what the Deployments panel shows (GET deployments/credit)
    assert status["retrain"]["expired"] is True and "expired" in status["retrain"]["reasons"][0]
    with pytest.raises(UsageError):
        workspace.set_retrain_policy("credit", max_age_days=-1)
    with pytest.raises(UsageError):
        workspace.set_retrain_policy("credit", cron="every day")
    with pytest.raises(NotFoundError):
        workspace.set_retrain_policy("ghost")


def test_schedule_fires_on_an_alert_after_the_live_version(workspace: Workspace) -> None:
    _live(workspace, days_old=2)
    workspace.set_retrain_policy("credit", max_age_days=30, on_alerts=("data drift", "concept.score"))
    alerts = workspace.store.alerts
    alerts.add(AlertEvent("credit", "data drift", "drift.score", 0.4, 0.0, "1h", ts=time.time() - 3 * 86_400))  # before live
    alerts.add(AlertEvent("credit", "latency p95", "ops.latency_p95_ms", 900.0, 250.0, "1h", ts=time.time() - 60))  # not a trigger
    assert not workspace.schedule()[0].due
    alerts.add(AlertEvent("credit", "concept drift", "concept.score", 0.12, 0.0, "1d", ts=time.time() - 30))
    [item] = workspace.schedule()
    assert item.due and not item.expired
    assert item.reasons == ("alert 'concept drift' fired (concept.score = 0.12, threshold 0)",)
    # a refused retrain leaves the trigger armed; one that produced a candidate consumes it
    workspace.store.registry.record_event(RegistryEvent("credit", "retrain", None, "bot", "refused",
                                                        evidence={"step": "result", "status": "refused"}))
    assert workspace.schedule()[0].due
    workspace.store.registry.record_event(RegistryEvent("credit", "retrain", None, "bot", "done",
                                                        evidence={"step": "result", "status": "shadowing"}))
    assert not workspace.schedule()[0].due


def test_policy_refuses_a_trigger_no_rule_can_fire(workspace: Workspace, capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _live(workspace)
    with pytest.raises(UsageError, match="no alert rule or metric named 'data_drift'") as err:
        workspace.set_retrain_policy("credit", on_alerts=("data_drift",))
    assert "did you mean 'data drift'?" in str(err.value) and "'concept.score'" in str(err.value)
    assert len(str(err.value).splitlines()) == 1
    assert workspace.retrain_policy("credit") is None  # nothing recorded
    assert main(["policy", "credit", "--on-alert", "data_drift"]) == 2
    assert "did you mean 'data drift'?" in capsys.readouterr().err
    # a custom rule configured for the deployment (NB2PROD_ALERT_RULES) is a valid trigger
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump([{"name": "income shift", "metric": "drift.income", "op": ">", "threshold": 0.3}]))
    monkeypatch.setenv("NB2PROD_ALERT_RULES", str(rules))
    with Workspace.open() as configured:
        assert configured.set_retrain_policy("credit", on_alerts=("income shift", "drift.income")).on_alerts == (
            "income shift", "drift.income")


def test_policy_prints_a_summary_and_json_on_request(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    _live(workspace)
    assert main(["policy", "credit", "--max-age-days", "14", "--on-alert", "data drift", "--auto-promote"]) == 0
    out = capsys.readouterr().out
    assert "retraining policy of credit" in out and "14 days" in out and "data drift" in out and "automatic" in out
    assert "{" not in out
    assert main(["policy", "credit", "--show", "--json"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)  # JSON is YAML
    assert shown["max_age_days"] == 14 and shown["on_alerts"] == ["data drift"] and shown["auto_promote"] is True
    assert main(["policy", "credit", "--show"]) == 0
    assert "expires after  14 days" in capsys.readouterr().out


def test_cronjob_manifest_is_valid_kubernetes(workspace: Workspace, tmp_path: Path) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    manifest = workspace.cronjob(image="registry.example/credit-train:1", schedule="30 2 * * 1", namespace="ml")
    kubernetes_validate.validate(manifest, "1.30", strict=True)
    container = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["nb2prod", "schedule", "--run"]
    path = tmp_path / "cron.yaml"
    assert main(["schedule", "--cronjob", str(path), "--image", "img:1", "--cron", "0 4 * * *"]) == 0
    written = yaml.safe_load(path.read_text())
    kubernetes_validate.validate(written, "1.30", strict=True)
    assert written["spec"]["schedule"] == "0 4 * * *"
    with pytest.raises(UsageError):
        workspace.cronjob(image="x", schedule="* *")


def test_retrain_says_the_shadow_gate_waits_for_evidence_rather_than_refusing() -> None:
    from nb2prod.models import GateDecision, RolloutPolicy
    from nb2prod.runs.retrain import _shadow_gate_step

    policy = RolloutPolicy(min_requests=100)
    thin = GateDecision("credit", "credit-v2", "blocked", ["needs more data: only 12 shadowed requests compared"],
                        {"compared": 12}, policy)
    step = _shadow_gate_step(thin, 0.1)
    assert step.status == "waiting" and step.detail.startswith("waiting for evidence (n=12 of 100 needed)")
    assert "refused" not in step.detail
    real = GateDecision("credit", "credit-v2", "blocked", ["candidate disagrees on 40.0% of requests (limit 10.0%)"],
                        {"compared": 500}, policy)
    step = _shadow_gate_step(real, 0.1)
    assert step.status == "refused" and step.detail.startswith("blocked: candidate disagrees")
