"""A traffic spike is answered by the model, or shed with a counted 503 — never silently by the fallback.

Counts only (no timed assertions): the model is slowed by the captured FaultInjector so that the
queue, not the model's compute, is what a spike makes long.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from runtime_folder import sample_rows

from nb2prod.errors import OverloadedError
from nb2prod.runtime import GuardedRuntime
from nb2prod.runtime.metrics import RuntimeMetrics
from nb2prod.store import Store


def variant(folder: Path, target: Path, *, serving: dict[str, Any], **changes: Any) -> Path:
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("spool", "FAULT"))
    spec = json.loads((target / "deployment.json").read_text())
    spec.update(changes, serving={**spec.get("serving", {}), **serving})
    (target / "deployment.json").write_text(json.dumps(spec))
    return target


@pytest.fixture
def slow_model(credit_folder: Path) -> Iterator[Any]:
    """Write the shared FAULT file (the captured transformer reads it by absolute path); removed after."""
    fault = credit_folder / "FAULT"

    def slow(seconds: float) -> None:
        fault.write_text(f"slow {seconds}")

    yield slow
    fault.unlink(missing_ok=True)


async def _spike(rt: GuardedRuntime, rows: list[dict[str, Any]], n: int) -> tuple[list[Any], list[OverloadedError]]:
    calls = [rt.apredict([rows[i % len(rows)]]) for i in range(n)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    unexpected = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, OverloadedError)]
    assert not unexpected, unexpected[:3]
    answers = [a for o in outcomes if isinstance(o, list) for a in o]
    shed = [o for o in outcomes if isinstance(o, OverloadedError)]
    return answers, shed


def _stored_ids(store_url: str) -> set[str]:
    with Store.open(store_url) as store:
        return {e.request_id for e in store.audit.predictions("credit")}


def test_a_spike_longer_than_the_timeout_is_answered_by_the_model(
    credit_folder: Path, tmp_path: Path, store_url: str, slow_model: Any
) -> None:
    # 100 requests at once, 8 rows per model call, each call ~50 ms: the last requests queue for
    # many times the 300 ms timeout, yet each call computes well within it. The timeout is for the
    # model's compute, so none of them may be answered from the fallback.
    folder = variant(credit_folder, tmp_path / "credit" / "spike", timeout_ms=300, serving={"max_batch": 8, "max_queue_ms": 60_000})
    rt = GuardedRuntime.load(folder, store_url=store_url, spool_dir=tmp_path / "spool")
    try:
        slow_model(0.05)
        answers, shed = asyncio.run(_spike(rt, sample_rows(credit_folder), 100))
        assert rt.writer.flush(30)
    finally:
        rt.close(5)
    assert len(answers) == 100 and not shed
    assert [a.fallback_reason for a in answers if a.fallback] == []
    assert rt.shed == 0
    assert {a.request_id for a in answers} <= _stored_ids(store_url)


def test_a_batch_is_never_larger_than_the_timeout_can_compute(credit_folder: Path, tmp_path: Path, store_url: str) -> None:
    # 10 ms of compute per row, a 300 ms timeout and up to 64 rows per call: one call taking all 60
    # simultaneous requests would compute for 600 ms and answer every one of them from the fallback.
    # The model thread measures the per-row cost (from sample rows before serving, then from every
    # batch) and takes no more rows than fit in half the timeout, so the model answers all 60.
    folder = variant(credit_folder, tmp_path / "credit" / "per-row", timeout_ms=300, serving={"max_batch": 64, "max_queue_ms": 60_000})
    fault = credit_folder / "FAULT"
    fault.write_text("per-row 0.01")
    try:
        rt = GuardedRuntime.load(folder, store_url=store_url, spool_dir=tmp_path / "spool")
        try:
            answers, shed = asyncio.run(_spike(rt, sample_rows(credit_folder), 60))
            assert rt.writer.flush(30)
        finally:
            rt.close(5)
    finally:
        fault.unlink(missing_ok=True)
    assert len(answers) == 60 and not shed
    assert [a.fallback_reason for a in answers if a.fallback] == []
    assert {a.request_id for a in answers} <= _stored_ids(store_url)


def test_a_queue_that_cannot_be_served_in_time_is_shed_and_counted(
    credit_folder: Path, tmp_path: Path, store_url: str, slow_model: Any
) -> None:
    # Each model call takes 0.4 s and takes at most 4 rows; requests may wait 100 ms for a slot.
    # Of 40 simultaneous requests the first few are answered by the model, the rest are shed
    # (a 503 with Retry-After in the service) — none answered from the fallback, none stored.
    folder = variant(credit_folder, tmp_path / "credit" / "shed", timeout_ms=30_000, serving={"max_batch": 4, "max_queue_ms": 100})
    rt = GuardedRuntime.load(folder, store_url=store_url, spool_dir=tmp_path / "spool")
    metric = RuntimeMetrics("credit", "credit-v1").shed_requests
    before = metric._value.get()
    try:
        slow_model(0.4)
        answers, shed = asyncio.run(_spike(rt, sample_rows(credit_folder), 40))
        assert rt.writer.flush(30)
        status = rt.status()
    finally:
        rt.close(5)
    assert answers and shed and len(answers) + len(shed) == 40
    assert not [a for a in answers if a.fallback]
    assert rt.shed == len(shed) == status["shed"] == metric._value.get() - before
    assert {e.http_status for e in shed} == {503} and min(e.retry_after_s for e in shed) >= 1
    stored = _stored_ids(store_url)
    assert {a.request_id for a in answers} == stored  # every answer audited, no shed request stored


def test_the_blocking_api_sheds_too(credit_folder: Path, tmp_path: Path, store_url: str, slow_model: Any) -> None:
    # One row per model call, 0.4 s each, 50 ms of queue budget: of three simultaneous blocking
    # callers the model answers one and the others are shed.
    folder = variant(credit_folder, tmp_path / "credit" / "sync", timeout_ms=30_000, serving={"max_batch": 1, "max_queue_ms": 50})
    rt = GuardedRuntime.load(folder, store_url=store_url, spool_dir=tmp_path / "spool")
    rows = sample_rows(credit_folder)
    try:
        slow_model(0.4)
        with ThreadPoolExecutor(3) as pool:
            calls = [pool.submit(rt.predict, [rows[i]]) for i in range(3)]
            outcomes = [c.exception(60) or c.result() for c in calls]
    finally:
        rt.close(5)
    answered = [a for o in outcomes if isinstance(o, list) for a in o]
    shed = [o for o in outcomes if isinstance(o, OverloadedError)]
    assert len(answered) + len(shed) == 3 and shed and rt.shed == len(shed)
    assert not [a for a in answered if a.fallback]


def test_latencies_observed_per_batch_fill_the_same_buckets_as_one_by_one() -> None:
    from prometheus_client import CollectorRegistry, Histogram

    from nb2prod.runtime.metrics import LATENCY_BUCKETS

    values = [0.0005, 0.001, 0.0011, 0.02, 0.02, 0.3, 7.0, 0.0075]
    metrics = RuntimeMetrics("credit-buckets", "v1")
    metrics.observe_latencies(values)
    reference = Histogram("reference_latency", "x", buckets=LATENCY_BUCKETS, registry=CollectorRegistry())
    for value in values:
        reference.observe(value)

    def buckets(child: Any) -> list[float]:
        return [b.get() for b in child._buckets] + [child._sum.get()]

    assert buckets(metrics.latency) == pytest.approx(buckets(reference))


def test_explained_jobs_compute_deadline_never_waits_for_an_fsync(runtime: Any, credit_folder: Path) -> None:
    # A batch with a plain and an explained job: the plain answers are handed to the group committer
    # (not fsync'd in the model thread) before the explanation runs, so the explained job's compute
    # deadline covers its explanation, not a disk sync; the explained job's rows are then synced.
    import concurrent.futures
    import threading

    rows = sample_rows(credit_folder)
    events: list[str] = []
    commit, append, explain = runtime.writer.commit, runtime.writer.append, runtime._explain
    runtime.writer.commit = lambda records, done: (events.append("commit"), commit(records, done))[1]
    here = threading.current_thread()  # plays the model thread; the committer's own appends are not counted

    def appended(records: Any) -> None:
        if threading.current_thread() is here:
            events.append("append")
        append(records)

    runtime.writer.append = appended
    runtime._explain = lambda explained: (events.append("explain"), explain(explained))[1]
    plain, explained = runtime._job([rows[0]], False, None), runtime._job([rows[1]], True, None)
    for job in (plain, explained):
        job.future = concurrent.futures.Future()
    runtime._compute([plain, explained])
    assert events == ["commit", "explain", "append"]
    [answer] = explained.future.result(timeout=10)
    assert answer.explanation and not plain.future.result(timeout=10)[0].explanation
