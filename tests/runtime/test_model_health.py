"""The circuit breaker judges the model, not the process: one late batch (a stall) is one failed call
however many rows it carried; a model that is always too slow, or hangs, still opens the circuit.

Counts only, no timed assertions: the captured FaultInjector holds or slows the model."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_folder import sample_rows
from test_runtime import variant

from nb2prod.runtime import GuardedRuntime


def _until(predicate: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def strict(credit_folder: Path, tmp_path: Path, store_url: str) -> Iterator[GuardedRuntime]:
    """A 200 ms timeout, the default health window (20 % of 200 model rows)."""
    folder = variant(credit_folder, tmp_path / "credit" / "strict", timeout_ms=200,
                     health={"max_error_rate": 0.2, "window": 200})
    rt = GuardedRuntime.load(folder, store_url=store_url, spool_dir=tmp_path / "spool")
    yield rt
    (credit_folder / "FAULT").unlink(missing_ok=True)
    rt.close()


def test_one_late_batch_of_many_rows_does_not_open_the_circuit(strict: GuardedRuntime, credit_folder: Path) -> None:
    rows = (sample_rows(credit_folder) * 3)[:60]
    assert not any(a.fallback for a in strict.predict(rows[:20]))  # 20 rows answered by the model
    fault = credit_folder / "FAULT"
    fault.write_text("hold")  # one stall of the model thread while it holds a 60-row batch
    try:
        answers = strict.predict(rows)
    finally:
        fault.unlink()
    assert all(a.fallback_reason == "timeout: no model answer within 200 ms" for a in answers)
    [after] = strict.predict(rows[:1])  # queued behind the late batch, then answered by the model
    assert not after.fallback, after.fallback_reason
    assert not strict.health.circuit_open and strict.is_ready()
    assert strict.health.snapshot()["error_rate"] == round(1 / 22, 4)  # one failed call among 21 model rows + 1


def test_a_model_always_too_slow_still_opens_the_circuit(strict: GuardedRuntime, credit_folder: Path) -> None:
    row = sample_rows(credit_folder)[0]
    (credit_folder / "FAULT").write_text("slow 0.3")
    reasons: list[Any] = []
    for _ in range(40):
        [answer] = strict.predict([row])
        reasons.append(answer.fallback_reason)
        if str(answer.fallback_reason).startswith("unhealthy: "):
            break
    assert str(reasons[-1]).startswith("unhealthy: model error rate"), reasons
    assert set(reasons[:-1]) == {"timeout: no model answer within 200 ms"}


def test_a_hung_model_is_unready_and_answered_by_the_fallback(strict: GuardedRuntime, credit_folder: Path) -> None:
    rows = sample_rows(credit_folder)
    fault = credit_folder / "FAULT"
    fault.write_text("hold")
    try:
        [first] = strict.predict(rows[:1])
        assert first.fallback_reason == "timeout: no model answer within 200 ms"
        _until(lambda: not strict.is_ready(), "the hung model to make the service unready")
        [answer] = strict.predict(rows[1:2])
        assert str(answer.fallback_reason).startswith("unhealthy: model computing one batch for ")
        assert strict.status()["ready"] is False
    finally:
        fault.unlink()
    _until(strict.is_ready, "the model to come back once its batch finishes")
    [later] = strict.predict(rows[2:3])
    assert not later.fallback, later.fallback_reason
