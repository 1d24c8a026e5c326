"""The serving process keeps CPython's GIL switch interval while the model thread gets the GIL when it
needs it, and shortens it while a batch is held back — seen from the event loop while the batch is still
computing, or from the batch's own wall-clock vs CPU time once done. No timing: the clock is the input."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from nb2prod.errors import UsageError
from nb2prod.runtime import gil
from nb2prod.runtime.gil import BUSY_S, GilHandover


@pytest.fixture(autouse=True)
def restore_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(gil.time, "monotonic", lambda: now[0])
    return now


def test_a_calm_batch_keeps_the_interval_a_starved_one_shortens_it_for_a_while(clock: list[float]) -> None:
    calm = sys.getswitchinterval()
    handover = GilHandover(timeout_s=0.25, env={})
    handover.start()
    handover.observe(wall_s=0.006, cpu_s=0.005)
    assert sys.getswitchinterval() == calm and handover.shortened == 0
    handover.observe(wall_s=0.120, cpu_s=0.030)  # waited 90 ms for 30 ms of compute
    assert sys.getswitchinterval() == BUSY_S and handover.shortened == 1
    clock[0] += 1.0
    handover.observe(wall_s=0.006, cpu_s=0.005)
    assert sys.getswitchinterval() == BUSY_S  # held: a spike is not over after one calm batch
    clock[0] += gil.HOLD_S
    handover.observe(wall_s=0.006, cpu_s=0.005)
    assert sys.getswitchinterval() == calm


def test_the_event_loop_shortens_it_while_a_batch_is_held_back(clock: list[float]) -> None:
    handover = GilHandover(timeout_s=0.25, env={})
    handover.watch(0.010)  # a normal batch in flight
    assert sys.getswitchinterval() != BUSY_S
    handover.watch(0.030)  # past a tenth of the timeout
    handover.watch(0.040)
    assert sys.getswitchinterval() == BUSY_S and handover.shortened == 1  # once per stretch
    handover.close()
    assert sys.getswitchinterval() != BUSY_S


def test_slow_but_not_starved_batches_change_nothing(clock: list[float]) -> None:
    handover = GilHandover(timeout_s=0.25, env={})
    handover.observe(wall_s=0.200, cpu_s=0.190)  # a slow model: it computed, it did not wait
    assert sys.getswitchinterval() != BUSY_S and handover.shortened == 0


def test_the_environment_fixes_the_interval(clock: list[float]) -> None:
    handover = GilHandover(timeout_s=0.25, env={"NB2PROD_SWITCH_INTERVAL_MS": "2"})
    handover.start()
    assert sys.getswitchinterval() == pytest.approx(0.002)
    handover.observe(wall_s=0.5, cpu_s=0.01)
    handover.watch(1.0)
    assert sys.getswitchinterval() == pytest.approx(0.002) and handover.shortened == 0


@pytest.mark.parametrize("value", ["fast", "0", "-1", "nan", "5000"])
def test_a_switch_interval_that_is_not_one_is_refused_in_one_line(value: str) -> None:
    with pytest.raises(UsageError) as refused:
        GilHandover(timeout_s=0.25, env={"NB2PROD_SWITCH_INTERVAL_MS": value})
    message = str(refused.value)
    assert "NB2PROD_SWITCH_INTERVAL_MS" in message and "\n" not in message and "milliseconds" in message


def test_an_empty_switch_interval_is_the_adaptive_one() -> None:
    assert GilHandover(timeout_s=0.25, env={"NB2PROD_SWITCH_INTERVAL_MS": " "}).fixed is None
