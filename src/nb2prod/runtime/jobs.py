"""A request's trip through the model thread: the job queued per request, one row's answer, the
per-batch metrics tally, the response body, and resolving callers (blocking or async) per batch."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nb2prod.models import Prediction
from nb2prod.runtime.metrics import RuntimeMetrics

if TYPE_CHECKING:
    from nb2prod.rollout.routing import Route

__all__ = ["Answer", "Job", "Tally", "response_body", "settle"]


@dataclass(eq=False)
class Job:
    rows: list[dict[str, Any]]
    request_ids: list[str]
    explain: bool
    t0: float
    ts: float
    future: concurrent.futures.Future[Any] | None = None  # a blocking caller's future
    probe: bool = False
    claimed: bool = False
    routes: list[Route] | None = None  # None: every row goes to this service's own (live) version
    started: float | None = None  # perf_counter when the model thread took it: the compute timeout runs from here
    waiter: asyncio.Future[Any] | None = None  # an async caller's future (resolved per batch on its loop)
    json: str | None = None  # "one" / "many": the caller wants the response body (bytes), built with the batch
    client_ids: list[str | None] | None = None  # the ids the caller sent, stored beside ours


@dataclass
class Tally:
    """What one micro-batch adds to the metrics, flushed with one update per series."""

    model: int = 0
    fallback: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    features: Counter[str] = field(default_factory=Counter)
    arms: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def flush(self, metrics: RuntimeMetrics) -> None:
        metrics.observe_latencies(self.latencies)
        metrics.answers(self.model, self.fallback, self.reasons, self.features)
        if self.latencies:
            metrics.audit_rows.inc(len(self.latencies))
        for arm, n in self.arms.items():
            metrics.routed(arm, n)


_PREDICTION_FIELDS = tuple(f.name for f in dataclasses.fields(Prediction))


def _plain(value: Any) -> Any:
    """JSON for a numpy scalar or array that reached an answer (explanations may hold them)."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def response_body(predictions: list[Prediction], shape: str) -> bytes:
    """The response body: one prediction (``"one"``) or ``{"predictions": [...]}``; same keys as ``Prediction.to_dict``."""
    items = [{name: getattr(p, name) for name in _PREDICTION_FIELDS} for p in predictions]
    value: Any = items[0] if shape == "one" else {"predictions": items}
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_plain).encode("utf-8")


def _resolve(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for waiter, value, exc in items:
        if waiter.done():
            continue
        if exc is None:
            waiter.set_result(value)
        else:
            waiter.set_exception(exc)


def settle(outcomes: list[tuple[Job, Any, BaseException | None]]) -> None:
    """Resolve jobs: blocking callers' futures directly, async callers' with one wake-up per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
    for job, value, exc in outcomes:
        if job.future is not None:
            if job.future.done():
                continue
            if exc is None:
                job.future.set_result(value)
            else:
                job.future.set_exception(exc)
        elif job.waiter is not None:
            by_loop.setdefault(job.waiter.get_loop(), []).append((job.waiter, value, exc))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits on these any more
            loop.call_soon_threadsafe(_resolve, items)


@dataclass
class Answer:
    """One row's answer before it becomes a Prediction and an audit row."""

    decision: Any
    score: float | None
    probabilities: dict[str, float] | None
    fallback: bool = False
    reason: str | None = None
    violations: list[str] = field(default_factory=list)
    error: str | None = None
    explanation: dict[str, float] | None = None
    transformed: tuple[Any, int] | None = None  # (final-estimator input of its batch, row index)
    score_source: str | None = None  # predict_proba | decision_function | predict | None
    interval: list[float] | None = None  # regression: [low, high]
