"""The model thread waits a moment for prediction requests the ASGI guard has let in but that are not
queued yet, so one model call answers them all; a lone request never waits. Deterministic: a stand-in
queue records how long the model thread would block, nothing is timed."""

from __future__ import annotations

import asyncio
import queue
import time
from types import SimpleNamespace
from typing import Any

import pytest

from nb2prod.runtime.asgi import RequestGuard
from nb2prod.runtime.batching import FILL_MAX_S, ModelLoop
from nb2prod.runtime.jobs import Job
from nb2prod.runtime.open_requests import OPEN_PREDICTIONS


def _job(rows: int = 1) -> Job:
    return Job(rows=[{}] * rows, request_ids=[f"r{i}" for i in range(rows)], explain=False, t0=time.perf_counter(), ts=time.time())


class _Queue:
    """``get_nowait`` hands out what is queued; ``get(timeout=…)`` records the wait and hands out ``late``."""

    def __init__(self, queued: list[Job | None], late: list[Job | None]) -> None:
        self.queued, self.late, self.waits = list(queued), list(late), []

    def get_nowait(self) -> Job | None:
        if not self.queued:
            raise queue.Empty
        return self.queued.pop(0)

    def get(self, timeout: float) -> Job | None:
        self.waits.append(timeout)
        if not self.late:
            raise queue.Empty
        return self.late.pop(0)


def _loop(q: _Queue, batch_cost_s: float) -> Any:
    return SimpleNamespace(_queue=q, _batch_cost_s=batch_cost_s)


@pytest.fixture
def open_requests() -> Any:
    entered = 0

    def set_open(n: int) -> None:
        nonlocal entered
        for _ in range(n):
            OPEN_PREDICTIONS.enter()
            entered += 1

    yield set_open
    for _ in range(entered):
        OPEN_PREDICTIONS.leave()


def test_a_lone_request_never_waits(open_requests: Any) -> None:
    open_requests(1)
    first, q = _job(), _Queue([], [_job()])
    jobs = [first]
    assert ModelLoop._fill(_loop(q, 0.004), jobs, 16) is False
    assert jobs == [first] and q.waits == []


def test_open_requests_not_yet_queued_join_the_batch(open_requests: Any) -> None:
    open_requests(3)
    first, queued, late = _job(), _job(), _job(2)
    q = _Queue([queued], [late])
    jobs = [first]
    ModelLoop._fill(_loop(q, 0.004), jobs, 16)
    assert jobs == [first, queued, late]
    assert q.waits == [pytest.approx(0.002, abs=0.002)]  # half the last batch's compute, no more


def test_the_wait_is_capped_and_ends_when_nothing_comes(open_requests: Any) -> None:
    open_requests(5)
    q = _Queue([], [])
    jobs = [_job()]
    ModelLoop._fill(_loop(q, 10.0), jobs, 16)  # a slow model: the wait stays at the cap
    assert len(jobs) == 1 and len(q.waits) == 1 and q.waits[0] == pytest.approx(FILL_MAX_S, abs=1e-6)


def test_a_full_batch_or_a_stop_ends_the_fill(open_requests: Any) -> None:
    open_requests(10)
    q = _Queue([_job(8)], [_job()])
    jobs = [_job(8)]
    assert ModelLoop._fill(_loop(q, 0.004), jobs, 16) is False
    assert len(jobs) == 2 and q.waits == []  # 16 rows: no waiting for more
    q = _Queue([], [None])
    assert ModelLoop._fill(_loop(q, 0.004), [_job()], 16) is True  # the runtime is closing


def test_the_guard_counts_a_prediction_request_until_its_answer_is_sent() -> None:
    seen: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(OPEN_PREDICTIONS.count)
        if scope["path"] == "/boom":
            raise RuntimeError("app failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def call(path: str, method: str = "POST") -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: Any) -> None:
            return None

        scope = {"type": "http", "path": path, "method": method, "headers": [(b"content-type", b"application/json")]}
        await RequestGuard(app)(scope, receive, send)

    before = OPEN_PREDICTIONS.count
    asyncio.run(call("/predict"))
    asyncio.run(call("/predict_batch"))
    asyncio.run(call("/livez", "GET"))
    with pytest.raises(RuntimeError):
        asyncio.run(call("/boom"))
    assert seen == [before + 1, before + 1, before, before]
    assert OPEN_PREDICTIONS.count == before  # released after the answer, and after a failure too
