"""GuardedRuntime in-process: predictions, fallback, timeout, health, explanations, audit, feedback."""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_folder import build_deployment, sample_rows

from nb2prod.errors import InvalidInputError, NotFoundError
from nb2prod.runtime import GuardedRuntime
from nb2prod.runtime.loading import load_model
from nb2prod.runtime.predictor import Predictor
from nb2prod.store import Store


def variant(folder: Path, target: Path, **changes: Any) -> Path:
    """A copy of a deployment folder with deployment.json fields replaced."""
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("spool", "FAULT"))
    spec = json.loads((target / "deployment.json").read_text())
    spec.update(changes)
    (target / "deployment.json").write_text(json.dumps(spec))
    return target


@pytest.fixture
def load(tmp_path: Path, store_url: str) -> Iterator[Any]:
    opened: list[GuardedRuntime] = []

    def _load(folder: Path, **kwargs: Any) -> GuardedRuntime:
        kwargs.setdefault("store_url", store_url)
        kwargs.setdefault("spool_dir", tmp_path / f"spool{len(opened)}")
        rt = GuardedRuntime.load(folder, **kwargs)
        opened.append(rt)
        return rt

    yield _load
    for rt in opened:
        rt.close(2)


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_predictions_match_the_model_and_are_audited(runtime: GuardedRuntime, credit_folder: Path, store_url: str) -> None:
    rows = sample_rows(credit_folder)
    answers = runtime.predict(rows)
    expected = json.loads((credit_folder / "sample.json").read_text())
    assert [a.prediction for a in answers] == expected["predictions"]
    assert [a.probability for a in answers] == pytest.approx(expected["scores"])
    first = answers[0]
    assert first.version_id == "credit-v1" and not first.fallback and first.violations == []
    assert first.probabilities == pytest.approx({"0": 1 - first.probability, "1": first.probability})
    assert len({a.request_id for a in answers}) == len(rows)
    for a in answers:
        assert a.confidence == ("low" if abs(a.probability - 0.5) < 0.1 else "high")
    assert runtime.writer.flush(10)
    with Store.open(store_url) as store:
        row = store.audit.get(first.request_id)
    assert row.inputs == rows[0] and row.inputs["gender"] == rows[0]["gender"]  # protected attribute kept
    assert row.output == first.prediction and row.score == pytest.approx(first.probability)
    assert row.probabilities == pytest.approx([1 - first.probability, first.probability])
    assert row.latency_ms is not None and row.fallback is False and row.confidence == first.confidence


def test_explanations_map_to_inputs_and_add_up(runtime: GuardedRuntime, credit_folder: Path) -> None:
    assert runtime.explainer is not None and runtime.explainer.method == "tree"
    rows = sample_rows(credit_folder)[:2]
    a, b = runtime.predict(rows, explain=True)
    assert a.explanation is not None and b.explanation is not None
    assert set(a.explanation) == set(rows[0])
    assert a.explanation["gender"] == 0.0  # the model does not use the protected attribute
    assert abs(a.explanation["purpose"]) > 0 and abs(a.explanation["loan_amount"]) > 0  # one-hot and ratio inputs mapped back
    # exact attributions: differences of sums equal differences of log-odds
    delta = sum(a.explanation.values()) - sum(b.explanation.values())
    assert delta == pytest.approx(logit(a.probability) - logit(b.probability), abs=1e-3)
    # its speed (target 10 ms) is measured by benchmarks/service_load.py, not asserted on a shared machine


def test_guardrail_violations_answer_from_the_baseline(runtime: GuardedRuntime, credit_folder: Path) -> None:
    row = {**sample_rows(credit_folder)[0], "age": 130, "purpose": "boat"}
    [answer] = runtime.predict([row])
    assert answer.fallback and answer.confidence == "fallback"
    assert answer.fallback_reason.startswith("guardrails: 2 violation(s)")
    assert answer.violations == ["age: 130 above training max 75", "purpose: 'boat' not seen in training"]
    baseline = runtime.fallback._predictor
    assert baseline is not None and answer.probability == pytest.approx(baseline.predict_rows([row]).scores[0])


def test_tolerated_violations_keep_the_model_but_flag_confidence(load: Any, credit_folder: Path, tmp_path: Path) -> None:
    rt = load(variant(credit_folder, tmp_path / "credit" / "tolerant", guardrails={"max_violations": 1}))
    [one, two] = rt.predict([{**sample_rows(credit_folder)[0], "age": 99}, {**sample_rows(credit_folder)[0], "age": 99, "region": "mars"}])
    assert not one.fallback and one.confidence == "out_of_range" and one.violations == ["age: 99 above training max 75"]
    assert two.fallback and len(two.violations) == 2


def test_model_errors_fall_back_then_the_circuit_opens_and_recovers(runtime: GuardedRuntime, credit_folder: Path) -> None:
    rows = sample_rows(credit_folder)
    (credit_folder / "FAULT").write_text("raise")
    answers = [runtime.predict([rows[i % 20]])[0] for i in range(12)]
    assert all(a.fallback for a in answers)
    assert answers[0].fallback_reason == "model_error: RuntimeError: injected model failure"
    assert answers[-1].fallback_reason.startswith("unhealthy: ")  # circuit open: the model is not even asked
    assert not runtime.is_ready() and runtime.is_alive()
    (credit_folder / "FAULT").unlink()
    deadline = time.monotonic() + 10
    while not runtime.is_ready() and time.monotonic() < deadline:
        time.sleep(0.2)  # readiness polls run the canary probe at most once a second
    assert runtime.is_ready()
    assert not runtime.predict([rows[0]])[0].fallback


def test_a_bad_row_does_not_drag_its_batch_into_the_fallback(runtime: GuardedRuntime, credit_folder: Path) -> None:
    class Picky:
        """Fails on one applicant only, like a model tripping on an odd value."""

        def __init__(self, inner: Any) -> None:
            self.inner, self.classes_ = inner, inner.classes_

        def predict(self, frame: Any) -> Any:
            if (frame["income"] == 12345.0).any():
                raise ValueError("cannot handle income 12345")
            return self.inner.predict(frame)

        def predict_proba(self, frame: Any) -> Any:
            if (frame["income"] == 12345.0).any():
                raise ValueError("cannot handle income 12345")
            return self.inner.predict_proba(frame)

    assert runtime.predictor is not None
    runtime.predictor = Predictor(Picky(runtime.predictor.model), runtime.spec)
    rows = sample_rows(credit_folder)[:4]
    rows[2] = {**rows[2], "income": 12345.0}
    answers = runtime.predict(rows)
    assert [a.fallback for a in answers] == [False, False, True, False]
    assert answers[2].fallback_reason == "model_error: ValueError: cannot handle income 12345"


def test_timeout_answers_from_the_fallback_and_audits_once(load: Any, credit_folder: Path, tmp_path: Path, store_url: str) -> None:
    folder = variant(credit_folder, tmp_path / "credit" / "slow", timeout_ms=100)
    rt = load(folder)
    rows = sample_rows(credit_folder)
    fault = credit_folder / "FAULT"  # the captured FaultInjector reads credit_folder/FAULT by absolute path
    fault.write_text("hold")  # the model blocks until the file goes (at most 60 s)
    try:
        [answer] = rt.predict([rows[0]])
        held = fault.read_text() == "hold"  # answered while the model was still blocked: no time measured
    finally:
        fault.unlink()
    assert answer.fallback and answer.fallback_reason == "timeout: no model answer within 100 ms"
    assert held
    # one model thread: a later request answered by the model comes after the late batch has finished,
    # and that late batch must not audit the first request again
    later = []
    for row in rows[1:21]:
        later.append(rt.predict([row])[0])
        if not later[-1].fallback:
            break
    assert not later[-1].fallback, [a.fallback_reason for a in later]
    assert rt.writer.flush(10)
    with Store.open(store_url) as store:
        assert store.audit.get(answer.request_id).fallback_reason == answer.fallback_reason
        assert store.audit.count() == 1 + len(later)


@pytest.mark.parametrize("strategy", ["constant", "previous_version", "missing_baseline"])
def test_declared_fallback_strategies(load: Any, credit_folder: Path, tmp_path: Path, strategy: str) -> None:
    root = tmp_path / "credit"
    if strategy == "constant":
        fallback = {"strategy": "constant", "constant": 1}
    elif strategy == "previous_version":
        # The earlier version holds a different model (the baseline), so an answer from the live
        # model cannot pass for one from the previous version.
        previous = variant(credit_folder, root / "credit-v0")
        manifest = json.loads((previous / "model" / "manifest.json").read_text())
        shutil.copyfile(previous / "model" / "baseline.pkl", previous / "model" / manifest.get("model_file", "model.pkl"))
        fallback = {"strategy": "previous_version", "previous_version": "credit-v0"}
    else:
        fallback = {"strategy": "baseline"}
    folder = variant(credit_folder, root / "credit-v2", fallback=fallback)
    if strategy == "missing_baseline":
        (folder / "model" / "baseline.pkl").unlink()
    rt = load(folder)
    row = {**sample_rows(credit_folder)[0], "age": 200}
    [answer] = rt.predict([row])
    assert answer.fallback
    if strategy == "constant":
        assert rt.fallback.strategy == "constant" and answer.prediction == 1 and answer.probability is None
    elif strategy == "previous_version":
        assert rt.fallback.strategy == "previous_version" and rt.fallback.detail == "credit-v0"
        previous_score = Predictor(load_model(root / "credit-v0"), rt.spec).predict_rows([row]).scores[0]
        assert rt.predictor is not None
        live_score = rt.predictor.predict_rows([row]).scores[0]
        assert previous_score != pytest.approx(live_score, abs=1e-6)
        assert answer.probability == pytest.approx(previous_score)
    else:
        assert rt.fallback.strategy == "constant" and "baseline unavailable" in rt.fallback.detail
        assert answer.prediction == 0


def test_canary_mismatch_keeps_the_model_out(load: Any, credit_folder: Path, tmp_path: Path) -> None:
    folder = variant(credit_folder, tmp_path / "credit" / "drifted")
    sample = json.loads((folder / "sample.json").read_text())
    sample["predictions"][0] = 1 - sample["predictions"][0]
    (folder / "sample.json").write_text(json.dumps(sample))
    rt = load(folder)
    assert not rt.is_alive() and not rt.is_ready()
    assert "canary predicted" in rt.status()["health"]["canary"]
    [answer] = rt.predict([sample["rows"][1]])
    assert answer.fallback and answer.fallback_reason.startswith("unhealthy: canary predicted")


def test_feedback_and_override_join_the_audit_row(runtime: GuardedRuntime, credit_folder: Path, store_url: str) -> None:
    [a, b] = runtime.predict(sample_rows(credit_folder)[:2], request_ids=["app-1", "app-2"])
    assert (a.client_request_id, b.client_request_id) == ("app-1", "app-2")
    assert len({a.request_id, b.request_id} - {"app-1", "app-2"}) == 2  # the key is the service's own
    runtime.feedback(a.request_id, label="1", outcome=-2500.0, source="collections")
    runtime.override(b.request_id, decision=1, operator="ann@bank", reason="known fraud pattern")
    with pytest.raises(NotFoundError):
        runtime.feedback("nobody", label=1)
    with pytest.raises(NotFoundError):
        runtime.feedback("app-1", label=1)  # a caller's own id is not an address
    with pytest.raises(InvalidInputError, match="not one of the classes"):
        runtime.feedback(a.request_id, label=7)
    with pytest.raises(InvalidInputError, match="label or an outcome"):
        runtime.feedback(a.request_id)
    with pytest.raises(InvalidInputError, match="operator and a reason"):
        runtime.override(a.request_id, decision=0, operator=" ", reason="x")
    [again] = runtime.predict(sample_rows(credit_folder)[:1], request_ids=["app-1"])  # a reused id is answered
    assert runtime.writer.flush(10)
    with Store.open(store_url) as store:
        [fb] = store.audit.feedback(name="credit")
        [ov] = store.audit.overrides(name="credit")
        assert [e.request_id for e in store.audit.by_client_id("app-1")] == [a.request_id, again.request_id]
    assert (fb.request_id, fb.label, fb.outcome, fb.source) == (a.request_id, 1, -2500.0, "collections")
    assert (ov.request_id, ov.decision, ov.operator, ov.reason) == (b.request_id, 1, "ann@bank", "known fraud pattern")


def test_concurrent_callers_are_batched_and_all_audited(runtime: GuardedRuntime, credit_folder: Path, store_url: str) -> None:
    rows = sample_rows(credit_folder)
    ids: list[str] = []
    lock = threading.Lock()

    def caller(k: int) -> None:
        for i in range(10):
            [answer] = runtime.predict([rows[(k + i) % 20]])
            with lock:
                ids.append(answer.request_id)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(ids) == 80
    assert runtime.writer.flush(10)
    with Store.open(store_url) as store:
        assert store.audit.count("credit") == 80
        assert all(store.audit.exists(i) for i in ids)


def test_stored_explanations_for_flagged_predictions(runtime: GuardedRuntime, credit_folder: Path, store_url: str) -> None:
    rows = sample_rows(credit_folder)
    answers = runtime.predict(rows)
    flagged = [a for a in answers if a.confidence == "low"]
    assert flagged, "the sample should hold a prediction near the threshold"
    assert runtime.writer.flush(10)
    with Store.open(store_url) as store:
        for a in flagged:
            stored = store.audit.get(a.request_id).explanation
            assert stored is not None and set(stored) == set(rows[0])


def test_spool_left_by_a_dead_runtime_is_replayed_at_start(load: Any, credit_folder: Path, tmp_path: Path, store_url: str) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    spool = tmp_path / "shared-spool"
    first = load(credit_folder, store_url=f"sqlite:///{blocked / 'x.db'}", spool_dir=spool)
    answers = first.predict(sample_rows(credit_folder)[:5])
    assert not first.close(0.3)  # the store never came: the rows stay in the spool
    assert list(spool.glob("*.jsonl"))
    second = load(credit_folder, spool_dir=spool)
    deadline = time.monotonic() + 10
    while second.writer.replayed < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert second.writer.replayed == 5
    with Store.open(store_url) as store:
        assert all(store.audit.exists(a.request_id) for a in answers)


@pytest.mark.parametrize("final", ["knn", "logistic"])
def test_explainer_choice_follows_the_model(load: Any, tmp_path: Path, final: str) -> None:
    from runtime_folder import CATEGORICAL, NUMERIC
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    estimator = KNeighborsClassifier(15) if final == "knn" else LogisticRegression(max_iter=500)
    model = Pipeline([
        ("encode", ColumnTransformer([("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)])),
        ("classify", estimator),
    ])  # fmt: skip
    folder = build_deployment(tmp_path / "deployments", version_id=f"credit-{final}", model=model, n=600, timeout_ms=5000,
                              explain={"method": "auto", "sample_rate": 0.0})  # fmt: skip
    rt = load(folder)
    assert rt.explainer is not None
    assert rt.explainer.method == ("occlusion" if final == "knn" else "linear")
    [answer] = rt.predict(sample_rows(folder)[:1], explain=True)
    assert answer.explanation is not None and set(answer.explanation) == set(sample_rows(folder)[0])
    assert answer.explanation["gender"] == 0.0


def test_stored_rows_are_explained_in_small_calls_within_the_cpu_budget(runtime: Any, credit_folder: Path) -> None:
    # each explainer call holds the GIL, so stored rows are explained a few at a time; once the budget
    # is spent the rest are stored without an explanation
    from nb2prod.runtime.answering import EXPLAIN_CHUNK

    rows = sample_rows(credit_folder)
    calls: list[int] = []

    def explain(inputs: list[dict[str, Any]]) -> list[dict[str, float]]:
        calls.append(len(inputs))
        return [{"income": 0.1} for _ in inputs]

    runtime.explainer.explain = explain
    records = [{"_explain": True, "inputs": rows[i % len(rows)]} for i in range(2 * EXPLAIN_CHUNK + 3)]
    runtime._enrich_stored(records)
    assert calls == [EXPLAIN_CHUNK, EXPLAIN_CHUNK, 3]
    assert all(r.get("explanation") == {"income": 0.1} for r in records)

    def spend_it_all(inputs: list[dict[str, Any]]) -> list[dict[str, float]]:
        runtime._explain_budget = -1.0
        return explain(inputs)

    runtime.explainer.explain = spend_it_all
    calls.clear()
    later = [{"_explain": True, "inputs": rows[i % len(rows)]} for i in range(2 * EXPLAIN_CHUNK)]
    runtime._explain_budget = 1.0
    runtime._explain_at = time.monotonic()
    runtime._enrich_stored(later)
    assert calls == [EXPLAIN_CHUNK]
    assert [r.get("explanation") is not None for r in later] == [True] * EXPLAIN_CHUNK + [False] * EXPLAIN_CHUNK
