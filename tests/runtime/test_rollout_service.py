"""Shadow, canary and control routing inside the running guarded runtime.

Real deployment folders (three versions of the example credit model), a real SQLite store with
the versions registered, traffic changed through the core API while the runtime runs.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_folder import build_deployment

from nb2prod.api import Workspace
from nb2prod.errors import GateRefusedError
from nb2prod.models import RegistryEvent, RolloutPolicy, Traffic, VersionRecord
from nb2prod.runtime import GuardedRuntime
from nb2prod.runtime.shadow import ShadowRunner
from nb2prod.runtime.traffic import load_version_predictor
from nb2prod.store import Store

ROLLOUT = {
    "traffic_poll_s": 0.1,
    "canary_check_s": 0.3,
    "policy": {"min_requests": 30, "canary_max_p99_ms": 10_000, "canary_max_divergence": 0.5},  # a loaded CI box is slow
}


def _patch(folder: Path, **changes: Any) -> Path:
    spec = json.loads((folder / "deployment.json").read_text())
    spec.update(changes)
    (folder / "deployment.json").write_text(json.dumps(spec))
    return folder


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """credit-v1 (live), credit-v2 (similar, its own FAULT switch), credit-v3 (divergent: threshold 0.1)."""
    import shutil

    root = tmp_path_factory.mktemp("rollout") / "deployments"
    v1 = _patch(build_deployment(root, version_id="credit-v1", fault_injection=True, timeout_ms=5000), rollout=ROLLOUT)
    v2 = _patch(build_deployment(root, version_id="credit-v2", fault_injection=True, timeout_ms=5000, max_iter=40), rollout=ROLLOUT)
    v3 = root / "credit" / "credit-v3"
    shutil.copytree(v2, v3)
    _patch(v3, version_id="credit-v3", threshold=0.1)
    return {"credit-v1": v1, "credit-v2": v2, "credit-v3": v3}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    """Rows inside the training ranges (no guardrail violations), so the models answer them all."""
    from nb2prod.examples.credit import TARGET, make_credit_data

    data = make_credit_data(2000, seed=7).drop(columns=[TARGET]).head(1600)
    return json.loads(data.to_json(orient="records"))


@pytest.fixture
def env(tmp_path: Path, versions: dict[str, Path]) -> Iterator[dict[str, Any]]:
    """A store with the three versions registered (v1 live), a Workspace on it, and a runtime loader."""
    url = f"sqlite:///{tmp_path / 'nb2prod.db'}"
    for folder in versions.values():
        (folder / "FAULT").unlink(missing_ok=True)
    with Store.open(url) as store:
        for version_id, folder in versions.items():
            store.registry.add_version(VersionRecord(
                version_id=version_id, name="credit", created_at=f"2026-11-0{version_id[-1]}T00:00:00", model_hash=version_id,
                deployment_dir=str(folder), extra={"protected": ["gender"]},
            ))  # fmt: skip
        store.registry.set_traffic(
            Traffic(name="credit", live="credit-v1"),
            RegistryEvent(name="credit", action="promote", version_id="credit-v1", actor="test", reason="first live version"),
        )
    ws = Workspace.open(home=tmp_path, env={"NB2PROD_STORE_URL": url})
    opened: list[GuardedRuntime] = []

    def start() -> GuardedRuntime:
        rt = GuardedRuntime.load(versions["credit-v1"], store_url=url, spool_dir=tmp_path / f"spool{len(opened)}")
        opened.append(rt)
        return rt

    yield {"url": url, "ws": ws, "start": start, "versions": versions}
    for rt in opened:
        rt.close(5)
    ws.close()
    for folder in versions.values():
        (folder / "FAULT").unlink(missing_ok=True)


def _wait(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _stored(url: str) -> dict[str, Any]:
    with Store.open(url) as store:
        return {e.request_id: e for e in store.audit.predictions("credit")}


def test_a_raising_shadow_adds_no_failure_and_its_error_is_audited(env: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    env["ws"].shadow("credit:credit-v2", percent=100)
    (env["versions"]["credit-v2"] / "FAULT").write_text("raise")
    rt = env["start"]()
    assert rt.traffic.table.traffic is not None and rt.traffic.table.traffic.shadow == "credit-v2"
    live = load_version_predictor(str(env["versions"]["credit-v1"]), "credit-v1")
    batch = rows[:60]
    answers = [a for start in range(0, len(batch), 10) for a in rt.predict(batch[start : start + 10])]
    assert all(not a.fallback and a.version_id == "credit-v1" for a in answers)
    assert [a.prediction for a in answers] == live.predict_rows(batch).decisions
    assert rt.flush(15)
    stored = _stored(env["url"])
    for a in answers:
        row = stored[a.request_id]
        assert row.arm == "live" and row.error is None and row.shadow_version == "credit-v2"
        assert row.shadow_output is None and row.shadow_error is not None and "injected model failure" in row.shadow_error
    assert rt.shadow.stats()["failed"] == len(answers)
    assert not rt.health.circuit_open and rt.is_ready()
    comparison = env["ws"].compare("credit")
    assert comparison.candidate_errors == len(answers) and comparison.overall.n == 0


def test_a_crashing_shadow_process_costs_shadow_results_only_and_comes_back(
    env: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    import os

    env["ws"].shadow("credit:credit-v2", percent=100)
    rt = env["start"]()
    shadow = rt.traffic.table.shadows["credit-v2"]
    assert shadow.pid is not None and shadow.pid != os.getpid()  # type: ignore[attr-defined]
    (env["versions"]["credit-v2"] / "FAULT").write_text("crash")  # the shadow's process exits mid-batch
    crashed = rt.predict(rows[:10])
    assert rt.flush(15)
    assert all(not a.fallback and a.version_id == "credit-v1" for a in crashed)
    stored = _stored(env["url"])
    assert all("died" in (stored[a.request_id].shadow_error or "") for a in crashed)
    (env["versions"]["credit-v2"] / "FAULT").unlink()
    time.sleep(5.1)  # the restart back-off (no crash loop)
    down = rt.predict(rows[10:20])  # the child is started again off the shadow worker's path
    assert rt.flush(15)
    stored = _stored(env["url"])
    assert all(not a.fallback and "down" in (stored[a.request_id].shadow_error or "") for a in down)
    assert _wait(lambda: shadow.alive, 120)  # type: ignore[attr-defined]
    healed = rt.predict(rows[20:30])
    assert rt.flush(15)
    stored = _stored(env["url"])
    assert all(stored[a.request_id].shadow_output is not None for a in healed)
    assert rt.status()["rollout"]["shadow_processes"]["credit-v2"]["restarts"] == 1
    rt.close()
    assert not shadow.alive  # type: ignore[attr-defined]


def test_shadow_outputs_land_in_the_audit_rows_and_feed_compare_gate_and_promote(
    env: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    ws = env["ws"]
    ws.shadow("credit:credit-v3", percent=100)
    rt = env["start"]()
    batch = rows[:200]
    answers = [a for start in range(0, len(batch), 20) for a in rt.predict(batch[start : start + 20])]
    assert rt.flush(20)
    candidate = load_version_predictor(str(env["versions"]["credit-v3"]), "credit-v3").predict_rows(batch)
    stored = _stored(env["url"])
    for a, expected, score in zip(answers, candidate.decisions, candidate.scores, strict=True):
        row = stored[a.request_id]
        assert row.version_id == "credit-v1" and row.output == a.prediction
        assert row.shadow_version == "credit-v3" and row.shadow_error is None
        assert row.shadow_output == expected and row.shadow_score == pytest.approx(score)

    comparison = ws.compare("credit")
    assert comparison.overall.n == len(batch) and comparison.candidate_version == "credit-v3"
    flips = sum(a.prediction != e for a, e in zip(answers, candidate.decisions, strict=True))
    assert flips > 0.05 * len(batch)  # threshold 0.1 vs 0.5: clearly divergent
    assert comparison.overall.agreement == pytest.approx(1 - flips / len(batch))
    policy = RolloutPolicy(min_requests=50)
    assert ws.gate("credit", policy=policy).verdict == "blocked"

    # labelled outcomes where the candidate is right: divergent but significantly better → a human decides
    for a, truth in zip(answers, candidate.decisions, strict=True):
        rt.feedback(a.request_id, label=truth)
    decision = ws.gate("credit", policy=policy)
    assert decision.verdict == "needs_approval", decision.reasons
    with pytest.raises(GateRefusedError):
        ws.promote("credit:credit-v3", policy=policy)
    ws.promote("credit:credit-v3", policy=policy, approve=True, actor="reviewer")

    # the running service picks the new live version up without a restart
    assert _wait(lambda: rt.traffic.table.traffic is not None and rt.traffic.table.traffic.live == "credit-v3", 5)
    [after] = rt.predict(batch[:1])
    assert after.version_id == "credit-v3" and after.prediction == candidate.decisions[0]


def test_canary_shares_hold_and_keys_are_sticky(env: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    env["ws"].canary("credit:credit-v2", 20)
    rt = env["start"]()
    n = 1500
    answers = [a for start in range(0, n, 50) for a in rt.predict(rows[start : start + 50])]
    share = sum(a.version_id == "credit-v2" for a in answers) / n
    assert abs(share - 0.2) < 4 * math.sqrt(0.2 * 0.8 / n), share

    keys = [f"customer-{i}" for i in range(600)]
    first = [a.version_id for start in range(0, 600, 50) for a in rt.predict(rows[start : start + 50], keys=keys[start : start + 50])]
    again = [a.version_id for start in range(0, 600, 50) for a in rt.predict(rows[600 + start : 650 + start], keys=keys[start : start + 50])]
    assert first == again  # same key, same arm, whatever the row
    keyed_share = first.count("credit-v2") / len(first)
    assert abs(keyed_share - 0.2) < 4 * math.sqrt(0.2 * 0.8 / len(first)), keyed_share

    assert rt.flush(20)
    stored = _stored(env["url"])
    canary_rows = [stored[a.request_id] for a in answers if a.version_id == "credit-v2"]
    assert canary_rows and all(r.arm == "canary" and r.shadow_version == "credit-v1" for r in canary_rows)
    assert all(r.shadow_output is not None for r in canary_rows)  # the live model shadows canary requests
    assert rt.traffic.last_verdict is not None and rt.traffic.last_verdict.verdict != "rollback"
    with Store.open(env["url"]) as store:
        assert store.registry.traffic("credit").canary == "credit-v2"


def test_a_failing_canary_is_rolled_back_automatically_within_the_window(
    env: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    env["ws"].canary("credit:credit-v2", 30)
    rt = env["start"]()
    # every canary check the watcher runs, with whether the failing evidence was all stored when it began
    checks: list[tuple[bool, str | None]] = []
    evidence_stored = threading.Event()
    check = rt.traffic.check_canary

    def counted_check() -> Any:
        stored_before = evidence_stored.is_set()
        verdict = check()
        checks.append((stored_before, None if verdict is None else verdict.verdict))
        return verdict

    rt.traffic.check_canary = counted_check
    answers = rt.predict(rows[:40])
    assert any(a.version_id == "credit-v2" for a in answers) and not any(a.fallback for a in answers)
    (env["versions"]["credit-v2"] / "FAULT").write_text("raise")
    canary_seen = 0
    for start in range(40, 1000, 20):
        batch = rt.predict(rows[start : start + 20])
        assert all(a.prediction is not None for a in batch)  # canary failures are answered by the fallback
        canary_seen += sum(a.version_id == "credit-v2" for a in batch)
        if canary_seen >= ROLLOUT["policy"]["min_requests"]:  # type: ignore[index]
            break
    assert rt.writer.flush(10)
    evidence_stored.set()
    assert _wait(lambda: rt.traffic.table.traffic is not None and rt.traffic.table.traffic.canary is None, 60)
    # within the window: the check that rolled back began no later than the first check that began after the
    # test saw the evidence stored (the writer may store it, and a check roll back, before flush() returns)
    first_after = next((i for i, (after, _) in enumerate(checks) if after), len(checks) - 1)
    assert "rollback" in [verdict for _, verdict in checks[: first_after + 1]], checks
    with Store.open(env["url"]) as store:
        assert store.registry.traffic("credit").canary is None
        [event] = [e for e in store.registry.events("credit") if e.action == "rollback"]
        assert event.actor == "nb2prod-service" and "error rate" in event.reason
        assert event.evidence["canary"] == "credit-v2"
    assert rt.traffic.rollbacks == 1
    after = rt.predict(rows[1000:1100])
    assert all(a.version_id == "credit-v1" and not a.fallback for a in after)


def test_control_group_is_answered_by_the_control_version(env: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    env["ws"].control("credit:credit-v3", percent=25)
    rt = env["start"]()
    batch = rows[:400]
    answers = [a for start in range(0, len(batch), 40) for a in rt.predict(batch[start : start + 40])]
    by_version = Counter(a.version_id for a in answers)
    assert set(by_version) == {"credit-v1", "credit-v3"}
    control = load_version_predictor(str(env["versions"]["credit-v3"]), "credit-v3")
    live = load_version_predictor(str(env["versions"]["credit-v1"]), "credit-v1")
    by_control, by_live = control.predict_rows(batch), live.predict_rows(batch)
    for i, a in enumerate(answers):
        expected = by_control if a.version_id == "credit-v3" else by_live
        assert a.prediction == expected.decisions[i] and a.probability == pytest.approx(expected.scores[i])
    assert rt.flush(15)
    stored = _stored(env["url"])
    arms = {stored[a.request_id].arm for a in answers if a.version_id == "credit-v3"}
    assert arms == {"control"}
    assert all(stored[a.request_id].shadow_version is None for a in answers)


def test_a_version_that_cannot_load_is_skipped_and_live_answers(env: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    with Store.open(env["url"]) as store:
        store.registry.add_version(VersionRecord(
            version_id="credit-v9", name="credit", created_at="2026-11-09T00:00:00", model_hash="v9",
            deployment_dir=str(env["versions"]["credit-v1"].parent / "missing"),
        ))  # fmt: skip
    env["ws"].canary("credit:credit-v9", 50)
    rt = env["start"]()
    answers = rt.predict(rows[:50])
    assert all(a.version_id == "credit-v1" and not a.fallback for a in answers)
    status = rt.status()["rollout"]
    assert "credit-v9" in status["load_errors"] and status["traffic"]["canary"] == "credit-v9"


def test_a_full_shadow_queue_skips_shadowing_and_never_blocks(env: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    env["ws"].shadow("credit:credit-v2", percent=100)
    rt = env["start"]()
    rt.shadow.close(1)
    rt.shadow = ShadowRunner(rt.writer, capacity=5, timeout_s=60.0).start()  # a tiny queue for the test
    warm = rt.predict(rows[200:205])  # warm-up (first-call costs are not what this test measures)
    assert rt.flush(20)
    before = rt.shadow.stats()
    fault = env["versions"]["credit-v2"] / "FAULT"
    fault.write_text("hold")  # the shadow model blocks until the file goes: its first batch never finishes meanwhile
    try:
        answers = [a for start in range(0, 100, 10) for a in rt.predict(rows[start : start + 10])]
        during = rt.shadow.stats()
        held = fault.read_text() == "hold"
    finally:
        fault.unlink()
    assert held and all(not a.fallback and a.version_id == "credit-v1" for a in answers)
    # every live answer came back while the shadow had not finished one row: nothing waited for it
    assert during["predicted"] == before["predicted"]
    skipped = during["skipped_queue_full"] - before["skipped_queue_full"]
    assert skipped == len(answers) - 5  # 5 slots taken by the held rows, every later row skipped, none queued
    assert rt.flush(20)
    stored = _stored(env["url"])
    shadowed = [stored[a.request_id] for a in answers if stored[a.request_id].shadow_version]
    assert len(shadowed) + skipped == len(answers)  # every row either shadowed or counted as skipped
    warmed = [stored[a.request_id] for a in warm if stored[a.request_id].shadow_version]
    assert len(warmed) == 5 and all(r.shadow_output is not None for r in warmed + shadowed)


@pytest.mark.slow
def test_served_service_routes_by_key_and_shadows_over_http(env: dict[str, Any], rows: list[dict[str, Any]], tmp_path: Path) -> None:
    import httpx
    from service_proc import SERVICE_TOKEN, serve

    env["ws"].shadow("credit:credit-v2", percent=100)
    env["ws"].canary("credit:credit-v3", 30)
    service = serve(env["versions"]["credit-v1"], tmp_path, env["url"], extra_env={"NB2PROD_SERVICE_TOKEN": SERVICE_TOKEN})
    try:
        arms: dict[str, set[str]] = {}
        for i in range(40):
            key = f"customer-{i % 10}"
            reply = httpx.post(f"{service.url}/predict", json={"features": rows[i], "key": key}, timeout=30)
            assert reply.status_code == 200, reply.text
            arms.setdefault(key, set()).add(reply.json()["version_id"])
        assert all(len(seen) == 1 for seen in arms.values())  # sticky per key
        assert {v for seen in arms.values() for v in seen} <= {"credit-v1", "credit-v3"}
        # 300 distinct keys in one bounded request: the canary's share holds over HTTP (binomial, 4 sigma)
        n = 200
        keyed = httpx.post(f"{service.url}/predict_batch", json={"rows": rows[100 : 100 + n], "keys": [f"k{i}" for i in range(n)]},
                           timeout=60)
        assert keyed.status_code == 200, keyed.text
        on_canary = [p["request_id"] for p in keyed.json()["predictions"] if p["version_id"] == "credit-v3"]
        bound = 4 * math.sqrt(n * 0.3 * 0.7)
        assert abs(len(on_canary) - 0.3 * n) < bound, len(on_canary)
        batch = httpx.post(f"{service.url}/predict_batch", json={"rows": rows[:3], "keys": ["a", "b"]}, timeout=30)
        assert batch.status_code in (400, 422) and "keys" in batch.text  # a clear client error, never a 500
        ok = httpx.post(f"{service.url}/predict_batch", json={"rows": rows[:3], "keys": ["a", "b", "c"]}, timeout=30)
        assert ok.status_code == 200, ok.text
        status = httpx.post(f"{service.url}/status", json={}, headers={"authorization": f"Bearer {SERVICE_TOKEN}"}, timeout=30).json()
        assert status["rollout"]["traffic"]["shadow"] == "credit-v2"
        assert set(status["rollout"]["loaded"]) == {"credit-v2", "credit-v3"}
        assert status["rollout"]["shadow_processes"]["credit-v2"]["alive"] is True  # its own process
    finally:
        service.stop()
    stored = _stored(env["url"])
    live_rows = [r for r in stored.values() if r.arm == "live"]
    assert live_rows and all(r.shadow_version == "credit-v2" and r.shadow_output is not None for r in live_rows)
    assert {rid for rid, r in stored.items() if r.arm == "canary"} >= set(on_canary)
    assert all(r.shadow_version == "credit-v1" for r in stored.values() if r.arm == "canary")
