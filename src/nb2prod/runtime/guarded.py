"""GuardedRuntime: the code inside every generated service, around the live model.

Request path (async, or sync in-process): a request becomes a *job* on a queue; one model thread
takes every job waiting, up to ``serving.max_batch`` rows and no more than the measured per-row
compute fits in half of ``timeout_ms`` (adaptive micro-batching: the deeper the queue, the larger
the batch — one DataFrame, one model call, one guardrail pass, one fsync,
one metrics update and one wake-up of the event loop for all of them), predicts, answers failing
rows from the declared fallback, builds each answer's JSON, appends the audit rows to the fsync'd
spool and only then resolves the jobs. ``timeout_ms`` bounds the model's *compute* for a job
(from the moment the model thread takes it); a job still queued after ``serving.max_queue_ms``
is shed (:class:`OverloadedError`, HTTP 503 with Retry-After, counted) rather than answered late
or from the fallback. The fallback answers for what it is for: an unhealthy or failing model,
guardrail violations, a model timeout. The audit writer thread copies the spool into the store
off the request path.

Rollout: a :class:`TrafficWatcher` keeps the deployment's traffic from the store
current; each row is routed (sticky per request ``key``) to the live, canary or control version
and answered by that version's :class:`Predictor`; the shadowing version runs after the answer
is spooled and returned, in the :class:`ShadowRunner`, which writes its output onto the same
audit row. A failing canary is rolled back by the watcher's periodic canary check.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import math
import queue
import random
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb2prod.errors import InvalidInputError, Nb2prodError, NotFoundError, OverloadedError, StoreError
from nb2prod.models import Feedback, Override, Prediction
from nb2prod.runtime.audit_writer import AuditWriter, StoreHandle
from nb2prod.runtime.explain import Explainer, as_dense, build_explainer
from nb2prod.runtime.fallback import Fallback, build_fallback
from nb2prod.runtime.guardrails import Guardrails
from nb2prod.runtime.health import Health
from nb2prod.runtime.loading import limit_math_threads, load_model, load_sample
from nb2prod.runtime.metrics import RuntimeMetrics
from nb2prod.runtime.predictor import Outputs, Predictor, error_text, jsonable
from nb2prod.runtime.request_ids import RequestIds
from nb2prod.runtime.schema import ServiceSchema, build_schema
from nb2prod.runtime.shadow import ShadowJob, ShadowRunner, shadow_deadline_ms
from nb2prod.runtime.spec import DeploymentSpec, load_spec
from nb2prod.runtime.spool import resolve_spool_dir
from nb2prod.runtime.traffic import RolloutSettings, TrafficWatcher

if TYPE_CHECKING:
    from nb2prod.rollout.routing import Route

__all__ = ["GuardedRuntime"]

log = logging.getLogger("nb2prod.runtime")

RECENT_IDS = 100_000
STORED_EXPLAIN_CPU_SHARE = 0.05  # seconds of explaining per second, for sampled / flagged rows


@dataclass(eq=False)
class _Job:
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
class _Tally:
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


def _body(predictions: list[Prediction], shape: str) -> bytes:
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


def _settle(outcomes: list[tuple[_Job, Any, BaseException | None]]) -> None:
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
class _Answer:
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


class GuardedRuntime:
    """The live model plus fallback, guardrails, health, explanations, audit log and metrics.

    Build with :meth:`load`; call :meth:`predict` (sync) or :meth:`apredict` (async), and
    :meth:`feedback` / :meth:`override`; :meth:`close` drains the audit log.
    """

    def __init__(
        self,
        spec: DeploymentSpec,
        predictor: Predictor | None,
        fallback: Fallback,
        writer: AuditWriter,
        *,
        explainer: Explainer | None = None,
        sample: dict[str, Any] | None = None,
        load_error: str | None = None,
    ) -> None:
        self.spec = spec
        self.schema: ServiceSchema = build_schema(spec)
        self.predictor = predictor
        self.fallback = fallback
        self.writer = writer
        self.explainer = explainer
        self.load_error = load_error
        self.guardrails = Guardrails(spec.features)
        self.health = Health(window=spec.health_window, max_error_rate=spec.max_error_rate)
        self.metrics = RuntimeMetrics(spec.name, spec.version_id)
        self._sample = sample or {"rows": [], "predictions": []}
        self._timeout_s = spec.timeout_ms / 1000.0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._claim_lock = threading.Lock()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.limit_threads = True  # one BLAS/OpenMP thread in every thread that calls a model (load() may turn it off)
        self._fallback_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="nb2prod-fallback", initializer=self._thread_init
        )
        self._queue_budget_s = spec.max_queue_ms / 1000.0
        self._ids = RequestIds()
        self.shed = 0  # requests refused with a 503 because the queue could not serve them in time
        self._computing = 0  # rows of the batch the model thread is computing now
        self._row_cost_s = 0.0  # moving average of a batch's compute time per row (0: not measured yet)
        self._closed = False
        self._random = random.Random()
        self._explain_budget = STORED_EXPLAIN_CPU_SHARE
        self._explain_at = time.monotonic()
        self.rollout = RolloutSettings.from_spec(spec)
        self.traffic = TrafficWatcher(spec, writer.store, self.rollout)
        shadow_timeout = shadow_deadline_ms(self.rollout.shadow_timeout_ms, spec.timeout_ms)
        self.shadow = ShadowRunner(writer, capacity=self.rollout.shadow_queue, timeout_s=shadow_timeout / 1000.0,
                                   max_batch=spec.max_batch, batch_wait_s=self.rollout.shadow_batch_ms / 1000.0,
                                   metrics=self.metrics)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        store_url: str | None = None,
        spool_dir: str | Path | None = None,
        start: bool = True,
        limit_threads: bool = True,
    ) -> GuardedRuntime:
        """Load a deployment folder: model, fallback, explainer, audit writer; run the canary.

        The store is ``store_url``, else ``NB2PROD_STORE_URL``, else deployment.json's
        ``store_url``; the spool is ``spool_dir``, else ``NB2PROD_SPOOL_DIR``, else
        ``<NB2PROD_HOME>/spool/<name>/<version>`` (never inside the folder, which may be a BentoML model).
        A model that cannot load does not stop the service: the fallback
        answers and the health probes report it.
        """
        spec = load_spec(folder)
        if limit_threads:
            limit_math_threads()
        predictor: Predictor | None = None
        load_error: str | None = None
        try:
            predictor = Predictor(load_model(spec.folder), spec)
        except Nb2prodError as exc:
            load_error = str(exc)
            log.error("model not loaded, the fallback answers: %s", exc)
        fallback = build_fallback(spec)
        sample = load_sample(spec.path(spec.sample_file))
        explainer: Explainer | None = None
        if predictor is not None:
            try:
                explainer = build_explainer(predictor, spec, sample["rows"])
            except Exception as exc:
                log.warning("explanations disabled: %s", error_text(exc))
        spool = Path(spool_dir) if spool_dir else resolve_spool_dir(spec.folder, spec.name, spec.version_id)
        handle = StoreHandle(store_url or spec.resolved_store_url())
        runtime = cls(spec, predictor, fallback, AuditWriter(spool, handle), explainer=explainer, sample=sample, load_error=load_error)
        runtime.writer._enrich = runtime._enrich_stored
        runtime.limit_threads = limit_threads
        if start:
            runtime.start()
        return runtime

    def _thread_init(self) -> None:
        # threadpoolctl's OpenMP limit is per thread: a thread that never set it runs every tree of a
        # gradient-boosting model on all cores, which on a busy machine spins and stalls (measured
        # here: 70-140 ms per batch instead of 8 ms).
        if self.limit_threads:
            limit_math_threads()

    def start(self) -> GuardedRuntime:
        """Start the audit writer (replaying orphan spool segments), run the canary, start the model thread."""
        self.writer.start()
        self.shadow.start()
        try:
            self.traffic.refresh()
        except Exception as exc:  # the store may be down at start: serve as live, retry in the background
            log.warning("traffic not read at start, serving this version until it is: %s", error_text(exc))
        self.traffic.start_polling()
        ok, detail = self._canary()
        self.health.set_canary(ok, detail)
        if not ok:
            log.error("canary failed, the fallback answers until a probe passes: %s", detail)
        seeded = threading.Event()
        self._worker = threading.Thread(target=self._serve_batches, args=(seeded,), name="nb2prod-model", daemon=True)
        self._worker.start()
        seeded.wait(30)  # serve once the batch bound is measured (a stuck model must not block start-up)
        return self

    def close(self, timeout: float = 10.0) -> bool:
        """Stop the model thread and drain the audit log; True when every row reached the store."""
        if self._closed:
            return True
        self._closed = True
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout)
        self._fallback_pool.shutdown(wait=True)
        self.writer.finish_commits(timeout)  # last batches answered, their rows handed to the shadow runner
        self.shadow.close(timeout)  # before the traffic watcher stops the shadow processes
        self.traffic.close()
        drained = self.writer.close(timeout)
        self.writer.store.close()
        return drained

    def __enter__(self) -> GuardedRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- health --------------------------------------------------------------------------------
    def _canary_row(self) -> tuple[dict[str, Any], Any]:
        rows = self._sample.get("rows") or []
        if rows:
            expected = (self._sample.get("predictions") or [None])[0]
            return self.schema.validate_rows([{k: rows[0].get(k) for k in self.spec.feature_names}])[0], expected
        raise NotFoundError("sample.json has no rows", fix="re-run %deploy so the folder stores sample rows")

    def _canary(self) -> tuple[bool, str]:
        if self.predictor is None:
            return False, f"model not loaded: {self.load_error}"
        try:
            row, expected = self._canary_row()
            decision = self.predictor.predict_rows([row]).decisions[0]
        except Exception as exc:
            return False, f"canary prediction failed: {error_text(exc)}"
        if expected is not None and jsonable(expected) != decision and str(jsonable(expected)) != str(decision):
            return False, f"canary predicted {decision!r} for the first sample row; the notebook's model predicted {expected!r}"
        return True, "canary prediction on the first sample row matches"

    def is_alive(self) -> bool:
        """Model loaded, canary passed (or a probe since), model and audit threads running."""
        return (
            self.predictor is not None
            and self.health.canary_ok
            and self._worker is not None
            and self._worker.is_alive()
            and self.writer.alive
        )

    def is_ready(self) -> bool:
        """Alive and the model's error rate within ``health.max_error_rate``."""
        self._maybe_probe()
        return self.is_alive() and not self.health.circuit_open

    def status(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "version_id": self.spec.version_id,
            "alive": self.is_alive(),
            "ready": self.is_ready(),
            "health": self.health.snapshot(),
            "fallback": {"strategy": self.fallback.strategy, "detail": self.fallback.detail},
            "explainer": None if self.explainer is None else {"method": self.explainer.method, "note": self.explainer.note},
            "audit": self.writer.stats(),
            "load_error": self.load_error,
            "rollout": {**self.traffic.snapshot(), "shadow": self.shadow.stats()},
            "shed": self.shed,  # requests answered 503 (queue over serving.max_queue_ms)
            "queue": {"waiting_jobs": self._queue.qsize(), "computing_rows": self._computing, "max_batch": self.spec.max_batch},
        }

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every audit row and every shadow result so far is in the store."""
        deadline = time.monotonic() + timeout
        return self.writer.flush(timeout) and self.shadow.flush(max(0.0, deadline - time.monotonic()))

    def _maybe_probe(self) -> None:
        if self.predictor is not None and self.health.circuit_open and self.health.claim_probe():
            try:
                row, _ = self._canary_row()
            except Nb2prodError as exc:
                self.health.probe_result(False, str(exc))
                return
            self._queue.put(_Job(rows=[row], request_ids=[], explain=False, t0=time.perf_counter(), ts=time.time(), probe=True))

    # -- prediction: public --------------------------------------------------------------------
    def predict(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        explain: bool = False,
        request_ids: Sequence[str] | None = None,
        keys: Sequence[str | None] | None = None,
    ) -> list[Prediction]:
        """Validate and predict ``rows`` in-process (blocking); every row is audited.

        ``keys`` (one per row, e.g. a customer id) keep each key on the same canary/control arm.
        """
        job = self._job(self.schema.validate_rows(list(rows)), explain, request_ids, keys)
        future = job.future = concurrent.futures.Future()
        if self._route_to_fallback(job):
            return self._answer_fallback(job, self._unhealthy_reason())
        while True:
            left = self._time_left(job)
            if left > 0:
                try:
                    result: list[Prediction] = future.result(timeout=left)
                    return result
                except concurrent.futures.TimeoutError:
                    continue
            if not self._claim(job):
                return future.result()  # the model thread answered it meanwhile
            if job.started is None:
                raise self._shed(len(job.rows))
            return self._answer_timeout(job)

    async def apredict(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        explain: bool = False,
        request_ids: Sequence[str] | None = None,
        validated: bool = False,
        keys: Sequence[str | None] | None = None,
    ) -> list[Prediction]:
        """Async :meth:`predict` for the service; ``validated=True`` skips re-validating rows."""
        valid = list(rows) if validated else self.schema.validate_rows(list(rows))
        job = self._job(valid, explain, request_ids, keys)
        result: list[Prediction] = await self._wait(job)
        return result

    async def apredict_json(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        batch: bool,
        explain: bool = False,
        request_ids: Sequence[str] | None = None,
        keys: Sequence[str | None] | None = None,
    ) -> bytes:
        """:meth:`apredict` of validated rows, answered as the response body the service sends.

        The body is built by the model thread with the rest of the batch: one prediction object, or
        ``{"predictions": [...]}`` when ``batch``. Raises :class:`OverloadedError` when shed.
        """
        job = self._job(list(rows), explain, request_ids, keys)
        job.json = "many" if batch else "one"
        result = await self._wait(job)
        return result if isinstance(result, bytes) else _body(result, job.json)

    async def _wait(self, job: _Job) -> Any:
        """Queue ``job`` and wait: compute timeout from when the model thread takes it, queue budget before."""
        loop = asyncio.get_running_loop()
        if self._route_to_fallback(job):
            return await loop.run_in_executor(self._fallback_pool, self._answer_fallback, job, self._unhealthy_reason())
        waiter = job.waiter
        assert waiter is not None
        while True:
            left = self._time_left(job)
            if left > 0:
                await asyncio.wait((waiter,), timeout=left)
                if waiter.done():
                    return waiter.result()
                continue
            if not self._claim(job):
                return await waiter  # the model thread answered it meanwhile
            if job.started is None:
                raise self._shed(len(job.rows))
            return await loop.run_in_executor(self._fallback_pool, self._answer_timeout, job)

    def _time_left(self, job: _Job) -> float:
        """Seconds ``job`` may still wait: for a batch slot (queue budget), then for the model's compute."""
        started = job.started
        if started is None:  # re-check at least every timeout: the model thread may take it meanwhile
            return min(job.t0 + self._queue_budget_s - time.perf_counter(), self._timeout_s)
        return started + self._timeout_s - time.perf_counter()

    def _shed(self, n: int) -> OverloadedError:
        """Count ``n`` shed rows and the error that answers them (HTTP 503 + Retry-After)."""
        with self._claim_lock:
            self.shed += n
        self.metrics.shed(n)
        return OverloadedError(
            f"the model queue could not take this request within {self.spec.max_queue_ms:g} ms (service overloaded)",
            fix="retry after the Retry-After delay; add replicas or raise serving.max_queue_ms if this persists",
            retry_after_s=max(1.0, math.ceil(self._queue_budget_s)),
        )

    # -- prediction: internals -----------------------------------------------------------------
    def _job(
        self, rows: list[dict[str, Any]], explain: bool, request_ids: Sequence[str] | None, keys: Sequence[str | None] | None = None
    ) -> _Job:
        if self._closed:
            raise StoreError("the service is shutting down", fix="retry against another replica")
        if keys is not None and len(keys) != len(rows):
            raise InvalidInputError(f"{len(keys)} keys for {len(rows)} rows", fix="send one key per row, or none")
        # The audit key is always ours (unguessable); a caller's own id is stored beside it, never
        # unique, so a reused or pre-occupied id can neither be refused nor drop an answered row.
        ids = self._ids.take(len(rows))
        client_ids: list[str | None] | None = None
        if request_ids is not None:
            client_ids = list(request_ids)
            if len(client_ids) != len(rows):
                raise InvalidInputError(f"{len(client_ids)} request ids for {len(rows)} rows", fix="send one request id per row")
        with self._recent_lock:
            for i in ids:
                self._recent[i] = None
            while len(self._recent) > RECENT_IDS:
                self._recent.popitem(last=False)
        return _Job(rows=rows, request_ids=ids, explain=explain, t0=time.perf_counter(), ts=time.time(),
                    routes=self._routes(len(rows), keys), client_ids=client_ids)

    def _routes(self, n: int, keys: Sequence[str | None] | None) -> list[Route] | None:
        """Each row's arm under the current traffic (None: no routing, this version answers all)."""
        table = self.traffic.table
        if table.traffic is None:
            return None
        rng = self._random
        return [table.route(None if keys is None else keys[i], rng) for i in range(n)]

    def _own(self, job: _Job, i: int) -> bool:
        """Row ``i`` of ``job`` is answered by this service's own version (the one with the explainer)."""
        return job.routes is None or job.routes[i].version_id == self.spec.version_id

    def _route_to_fallback(self, job: _Job) -> bool:
        """Queue the job for the model, or claim it for the fallback when the model is unhealthy."""
        if self.health.circuit_open:
            self._maybe_probe()
            if self._claim(job):
                return True
        if job.future is None:
            job.waiter = asyncio.get_running_loop().create_future()
        self._queue.put(job)
        return False

    def _unhealthy_reason(self) -> str:
        if self.predictor is None:
            return f"unhealthy: model not loaded ({self.load_error})"
        if not self.health.canary_ok:
            return f"unhealthy: {self.health.canary_detail}"
        return f"unhealthy: model error rate {self.health.error_rate:.0%} above {self.spec.max_error_rate:.0%}"

    def _claim(self, job: _Job) -> bool:
        with self._claim_lock:
            if job.claimed:
                return False
            job.claimed = True
            return True

    def _answer_timeout(self, job: _Job) -> list[Prediction]:
        self.health.record(False, len(job.rows), error=f"timeout after {self.spec.timeout_ms:g} ms")
        self.metrics.error("timeout", len(job.rows))
        return self._answer_fallback(job, f"timeout: no model answer within {self.spec.timeout_ms:g} ms")

    def _answer_fallback(self, job: _Job, reason: str) -> list[Prediction]:
        """Answer a whole job from the fallback (timeout / unhealthy); spooled before returning."""
        outputs, _ = self.fallback.predict_rows(job.rows)
        violations = self._violations(job.rows)
        answers = [self._answer_from(outputs, i, fallback=True, reason=reason, violations=v) for i, v in enumerate(violations)]
        tally = _Tally()
        predictions, records, shadows = self._finish(job, answers, tally)
        tally.flush(self.metrics)
        try:
            self.writer.append(records)
        except StoreError:
            self.shadow.release(len(shadows))
            raise
        self._shadow(shadows)
        return predictions

    def _answer_from(
        self,
        outputs: Outputs,
        i: int,
        *,
        fallback: bool,
        reason: str | None,
        violations: list[str],
        error: str | None = None,
        keep: bool = True,
    ) -> _Answer:
        transformed = None if fallback or not keep or outputs.transformed is None else (outputs.transformed, i)
        return _Answer(
            transformed=transformed,
            decision=jsonable(outputs.decisions[i]),
            score=outputs.scores[i],
            probabilities=outputs.probabilities[i],
            fallback=fallback,
            reason=reason,
            violations=violations,
            error=error,
            score_source=outputs.score_source if outputs.scores[i] is not None else None,
            interval=None if fallback or outputs.intervals is None else outputs.intervals[i],  # the live model's residuals
        )

    def _confidence(self, answer: _Answer) -> str:
        if answer.fallback:
            return "fallback"
        if answer.violations:
            return "out_of_range"
        margin = self.spec.uncertainty_margin
        if self.spec.task == "binary" and answer.score is not None and answer.score_source == "decision_function":
            return "low" if abs(answer.score) < margin else "high"  # the boundary of a margin is 0
        if self.spec.task == "binary" and answer.score is not None and answer.score_source == "predict_proba":
            boundary = 0.5 if self.spec.threshold is None else self.spec.threshold
            return "low" if abs(answer.score - boundary) < margin else "high"
        if self.spec.task == "multiclass" and answer.probabilities:
            top = sorted(answer.probabilities.values(), reverse=True)
            return "low" if len(top) > 1 and top[0] - top[1] < margin else "high"
        return "high"

    def _finish(
        self, job: _Job, answers: list[_Answer], tally: _Tally
    ) -> tuple[list[Prediction], list[dict[str, Any]], list[ShadowJob]]:
        """Predictions for the caller, audit rows for the spool, rows to shadow (slots reserved); counted in ``tally``."""
        latency_ms = round((time.perf_counter() - job.t0) * 1000.0, 3)
        spec = self.spec
        predictions: list[Prediction] = []
        records: list[dict[str, Any]] = []
        shadows: list[ShadowJob] = []
        classes = [str(c) for c in spec.classes or ()]
        for i, (request_id, row, answer) in enumerate(zip(job.request_ids, job.rows, answers, strict=True)):
            route = None if job.routes is None else job.routes[i]
            version_id = spec.version_id if route is None else route.version_id
            client_id = None if job.client_ids is None else job.client_ids[i]
            confidence = self._confidence(answer)
            probability = answer.score if answer.score_source == "predict_proba" else None
            predictions.append(
                Prediction(
                    request_id=request_id,
                    version_id=version_id,
                    prediction=answer.decision,
                    probability=probability,
                    probabilities=answer.probabilities,
                    confidence=confidence,
                    fallback=answer.fallback,
                    fallback_reason=answer.reason,
                    violations=answer.violations,
                    latency_ms=latency_ms,
                    explanation=answer.explanation,
                    score=answer.score,
                    score_source=answer.score_source,
                    interval=answer.interval,
                    client_request_id=client_id,
                )
            )
            record: dict[str, Any] = {
                "request_id": request_id,
                "client_request_id": client_id,
                "name": spec.name,
                "version_id": version_id,
                "ts": job.ts,
                "inputs": row,
                "output": answer.decision,
                "score": answer.score,
                "probabilities": [answer.probabilities[c] for c in classes] if answer.probabilities else None,
                "latency_ms": latency_ms,
                "fallback": answer.fallback,
                "fallback_reason": answer.reason,
                "violations": answer.violations,
                "arm": "live" if route is None else route.arm,
                "explanation": answer.explanation,
                "confidence": confidence,
                "error": answer.error,
            }
            if answer.explanation is None and not answer.fallback and version_id == spec.version_id and (
                answer.violations or confidence == "low" or self._random.random() < spec.explain_sample_rate
            ):
                record["_explain"] = True
            if route is not None and route.shadow_version and not answer.fallback and answer.error is None:
                shadow_predictor = self.traffic.table.shadows.get(route.shadow_version) or self._predictor_of(route.shadow_version)
                if shadow_predictor is not None and self.shadow.reserve():
                    record["shadow_version"] = route.shadow_version
                    shadows.append(ShadowJob(request_id, row, route.shadow_version, shadow_predictor))
            records.append(record)
            if answer.fallback:
                tally.fallback += 1
                tally.reasons[(answer.reason or "unknown").split(":", 1)[0]] += 1
            else:
                tally.model += 1
            for violation in answer.violations:
                tally.features[Guardrails.feature_of(violation)] += 1
        tally.latencies.extend([latency_ms / 1000.0] * len(records))
        if job.routes is not None:
            tally.arms.update(r.arm for r in job.routes)
        return predictions, records, shadows

    def _predictor_of(self, version_id: str) -> Predictor | None:
        if version_id == self.spec.version_id:
            return self.predictor
        return self.traffic.predictor(version_id)

    def _shadow(self, shadows: list[ShadowJob]) -> None:
        """Hand rows to the shadow worker once their live rows are spooled (and answered)."""
        if shadows:
            spooled = self.writer.spool.appended
            for job in shadows:
                job.spooled = spooled
            self.shadow.submit(shadows)

    # -- the model thread ----------------------------------------------------------------------
    def _serve_batches(self, seeded: threading.Event) -> None:
        self._thread_init()
        try:
            self._seed_row_cost()
        finally:
            seeded.set()
        while True:
            job = self._queue.get()
            if job is None:
                return
            limit = self._batch_limit()
            jobs = [job]
            size = len(job.rows)
            stop = False
            while size < limit:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                jobs.append(more)
                size += len(more.rows)
            try:
                self._process(jobs)
            except Exception as exc:  # never leave a caller waiting on a bug
                log.exception("guarded runtime batch failed")
                _settle([(j, None, exc) for j in jobs if not j.probe and (j.future is None or not j.future.done())])
            if stop:
                return

    def _seed_row_cost(self) -> None:
        """Time a batch of sample rows in the model thread before serving, so that the first batch of a
        spike is already bounded by the timeout (the first call of a model pays one-off costs: warm it)."""
        rows = (self._sample.get("rows") or [])[:16]
        if self.predictor is None or not rows:
            return
        try:
            batch = self.schema.validate_rows([{k: r.get(k) for k in self.spec.feature_names} for r in rows])
            self.predictor.predict_rows(batch)
            started = time.perf_counter()
            self.predictor.predict_rows(batch)
        except Exception:  # the canary reports a model that cannot answer; batches then start at max_batch
            return
        self._row_cost_s = (time.perf_counter() - started) / len(batch)

    def _batch_limit(self) -> int:
        """Rows to take into the next micro-batch: ``serving.max_batch``, fewer when the measured compute per
        row says a full batch would spend more than half the model timeout. Past that, a spike would turn
        every row of the batch into a timeout fallback; the rows left waiting are served by the next batch
        or shed with a 503 when the queue budget runs out, which a client can retry."""
        cost = self._row_cost_s
        if cost <= 0.0:
            return self.spec.max_batch
        return max(1, min(self.spec.max_batch, int(0.5 * self._timeout_s / cost)))

    def _run_probe(self, job: _Job) -> None:
        ok, detail = self._canary()
        self.health.probe_result(ok, detail if ok else f"probe failed: {detail}")
        if ok:
            log.info("model healthy again (canary probe passed); circuit closed")

    def _process(self, jobs: list[_Job]) -> None:
        live: list[_Job] = []
        stale: list[_Job] = []
        now = time.perf_counter()
        for job in jobs:
            if job.probe:
                self._run_probe(job)
            elif job.claimed:
                continue
            elif now - job.t0 > self._queue_budget_s:
                if self._claim(job):  # waited past the queue budget: shed it rather than compute a late answer
                    stale.append(job)
            else:
                job.started = now
                live.append(job)
        if stale:
            _settle([(job, None, self._shed(len(job.rows))) for job in stale])
        if not live:
            return
        rows = self._computing = sum(len(job.rows) for job in live)
        started = time.perf_counter()
        try:
            self._compute(live)
        finally:
            self._computing = 0
            per_row = (time.perf_counter() - started) / max(rows, 1)
            self._row_cost_s = per_row if self._row_cost_s <= 0.0 else 0.8 * self._row_cost_s + 0.2 * per_row

    def _compute(self, live: list[_Job]) -> None:
        versions = None
        if any(job.routes is not None for job in live):
            own = self.spec.version_id
            versions = [own if job.routes is None else job.routes[i].version_id for job in live for i in range(len(job.rows))]
        answers = self._answers([row for job in live for row in job.rows], versions)
        plain: list[tuple[_Job, list[_Answer]]] = []
        explained: list[tuple[_Job, list[_Answer]]] = []
        start = 0
        for job in live:
            part = answers[start : start + len(job.rows)]
            start += len(job.rows)
            (explained if job.explain and self.explainer is not None else plain).append((job, part))
        self._deliver(plain)
        if explained:
            self._explain(explained)
            self._deliver(explained)

    def _violations(self, rows: list[dict[str, Any]]) -> list[list[str]]:
        """Guardrail violations of a micro-batch, one call for all its rows."""
        return self.guardrails.check_rows(rows)  # type: ignore[return-value]

    def _answers(self, rows: list[dict[str, Any]], versions: list[str] | None = None) -> list[_Answer]:
        """Guardrails, one model call per answering version for the rows that pass, the fallback for the rest.

        ``versions`` names the version answering each row (None: this service's own, for all).
        """
        violations = self._violations(rows)
        answers: list[_Answer | None] = [None] * len(rows)
        to_model = [i for i, v in enumerate(violations) if self.guardrails.blocking(v) <= self.spec.max_violations]
        failed: dict[int, str] = {}
        own = self.spec.version_id
        groups: dict[str, list[int]] = {}
        for i in to_model:
            groups.setdefault(own if versions is None else versions[i], []).append(i)
        for version, members in groups.items():
            predictor = self._predictor_of(version)
            counts = version == own  # health (circuit breaker) follows this service's own model
            if predictor is None:
                failed.update({i: "model not loaded" for i in members})
                continue
            try:
                outputs = predictor.predict_rows([rows[i] for i in members])
                for k, i in enumerate(members):
                    answers[i] = self._answer_from(outputs, k, fallback=False, reason=None, violations=violations[i], keep=counts)
                if counts:
                    self.health.record(True, len(members))
            except Exception as exc:
                self._predict_one_by_one(predictor, rows, members, violations, answers, failed, exc, counts=counts)
        rest = [i for i, a in enumerate(answers) if a is None]
        if rest:
            outputs, _ = self.fallback.predict_rows([rows[i] for i in rest])
            for k, i in enumerate(rest):
                if i in failed:
                    reason, error = f"model_error: {failed[i]}", failed[i]
                else:
                    reason = f"guardrails: {self.guardrails.blocking(violations[i])} violation(s), more than {self.spec.max_violations} allowed"
                    error = None
                answers[i] = self._answer_from(outputs, k, fallback=True, reason=reason, violations=violations[i], error=error)
        return [a for a in answers if a is not None]

    def _predict_one_by_one(
        self,
        predictor: Predictor,
        rows: list[dict[str, Any]],
        to_model: list[int],
        violations: list[list[str]],
        answers: list[_Answer | None],
        failed: dict[int, str],
        batch_error: Exception,
        *,
        counts: bool = True,
    ) -> None:
        """A batch failed: find the rows that fail alone, so one bad row does not drag the others down."""
        mine: dict[int, str] = {}
        if len(to_model) == 1:
            mine[to_model[0]] = error_text(batch_error)
        else:
            for i in to_model:
                try:
                    outputs = predictor.predict_rows([rows[i]])
                    answers[i] = self._answer_from(outputs, 0, fallback=False, reason=None, violations=violations[i], keep=counts)
                except Exception as exc:
                    mine[i] = error_text(exc)
        failed.update(mine)
        if mine:
            self.metrics.error("exception", len(mine))
        if counts:
            if mine:
                self.health.record(False, len(mine), error=next(iter(mine.values())))
            if len(mine) < len(to_model):
                self.health.record(True, len(to_model) - len(mine))

    def _explain(self, explained: list[tuple[_Job, list[_Answer]]]) -> None:
        assert self.explainer is not None
        targets = [(job, i, a) for job, part in explained for i, a in enumerate(part) if not a.fallback and self._own(job, i)]
        if not targets:
            return
        rows = [job.rows[i] for job, i, _ in targets]
        try:
            kept = [a.transformed for _, _, a in targets]
            if all(k is not None for k in kept):
                import numpy as np

                matrix = np.vstack([as_dense(m[i : i + 1]) for m, i in kept])  # type: ignore[misc]
                values = self.explainer.explain_transformed(matrix, rows)
            else:
                values = self.explainer.explain(rows)
        except Exception as exc:
            log.warning("explanation failed: %s", error_text(exc))
            return
        for (_, _, answer), value in zip(targets, values, strict=True):
            answer.explanation = value

    def _deliver(self, pairs: list[tuple[_Job, list[_Answer]]]) -> None:
        """Claim each job, spool all their audit rows with one fsync, then answer them."""
        ready: list[tuple[_Job, list[Prediction]]] = []
        records: list[dict[str, Any]] = []
        shadows: list[ShadowJob] = []
        tally = _Tally()
        for job, answers in pairs:
            if not self._claim(job):
                continue  # its caller gave up on it (model timeout, or shed) and answered already
            predictions, rows, shadowed = self._finish(job, answers, tally)
            ready.append((job, predictions))
            records.extend(rows)
            shadows.extend(shadowed)
        if not ready:
            return
        bodies = [_body(predictions, job.json) if job.json else predictions for job, predictions in ready]

        def durable(error: BaseException | None) -> None:  # on the committer thread, once fsync'd
            if error is not None:
                self.shadow.release(len(shadows))
                _settle([(job, None, error) for job, _ in ready])
                return
            _settle([(job, body, None) for (job, _), body in zip(ready, bodies, strict=True)])
            tally.flush(self.metrics)
            self._shadow(shadows)  # after the answers: the shadow model is off the response path

        if self._queue.empty():  # nothing to compute meanwhile: sync here, one thread hop fewer for the answer
            try:
                self.writer.append(records)
            except StoreError as exc:
                durable(exc)
                return
            durable(None)
            return
        try:  # the model thread goes on to the next batch while the disk syncs this one
            self.writer.commit(records, durable)
        except StoreError as exc:
            durable(exc)

    def _enrich_stored(self, records: list[dict[str, Any]]) -> None:
        """Audit writer hook: explanations for sampled / flagged rows, computed off the request path."""
        if self.explainer is None:
            return
        wanted = [r for r in records if r.get("_explain") and isinstance(r.get("inputs"), dict)]
        now = time.monotonic()
        refill = (now - self._explain_at) * STORED_EXPLAIN_CPU_SHARE
        self._explain_budget = min(STORED_EXPLAIN_CPU_SHARE * 5, self._explain_budget + refill)
        self._explain_at = now
        if not wanted or self._explain_budget <= 0:
            return  # bounded CPU: over budget, rows are stored without an explanation
        start = time.perf_counter()
        values = self.explainer.explain([r["inputs"] for r in wanted])
        self._explain_budget -= time.perf_counter() - start
        for record, value in zip(wanted, values, strict=True):
            record["explanation"] = value

    # -- feedback and overrides ----------------------------------------------------------------
    def _known(self, request_id: str) -> None:
        with self._recent_lock:
            if request_id in self._recent:
                return
        store = self.writer.store.get()
        if store.audit.exists(request_id):
            return
        if self.writer.pending > 0:
            self.writer.flush(2.0)
            if store.audit.exists(request_id):
                return
        raise NotFoundError(f"no prediction with request id {request_id!r}", fix="use the request_id a prediction returned")

    def _label(self, value: Any, what: str) -> Any:
        if self.spec.task == "regression" or value is None:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)):
                raise InvalidInputError(f"{what} {value!r} is not a number", fix="send the observed value as a number")
            return value
        for cls in self.spec.classes or ():
            if value == cls or str(value) == str(cls):
                return cls
        raise InvalidInputError(
            f"{what} {value!r} is not one of the classes {list(self.spec.classes or ())!r}",
            fix="send one of the model's class labels",
        )

    def feedback(self, request_id: str, *, label: Any = None, outcome: float | None = None, source: str | None = None) -> Feedback:
        """Store a ground-truth label and/or business outcome for a request; joined to its audit row."""
        if label is None and outcome is None:
            raise InvalidInputError("feedback needs a label or an outcome", fix="send label (the true class) and/or outcome")
        if outcome is not None and (isinstance(outcome, bool) or not math.isfinite(float(outcome))):
            raise InvalidInputError(f"outcome {outcome!r} is not a finite number", fix="send the outcome as a number")
        item = Feedback(request_id=request_id, label=self._label(label, "label"), outcome=outcome, ts=time.time(), source=source)
        self._known(request_id)
        self.writer.store.get().audit.add_feedback([item])
        self.metrics.feedback("feedback")
        return item

    def override(self, request_id: str, *, decision: Any, operator: str, reason: str) -> Override:
        """Store a human operator's decision replacing the model's for a request (who and why)."""
        if not operator.strip() or not reason.strip():
            raise InvalidInputError("an override needs the operator and a reason", fix="send operator and reason")
        if decision is None:
            raise InvalidInputError("an override needs a decision", fix="send the decision that replaces the model's")
        item = Override(
            request_id=request_id, decision=self._label(decision, "decision"), operator=operator, reason=reason, ts=time.time()
        )
        self._known(request_id)
        self.writer.store.get().audit.add_override(item)
        self.metrics.feedback("override")
        return item
