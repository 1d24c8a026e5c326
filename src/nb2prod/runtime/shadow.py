"""Shadow predictions, off the response path: the candidate answers after the caller has its answer.

The request path only *reserves* a slot (non-blocking; when the bounded queue is full the row is
not shadowed and the skip is counted) and, once the live answer is spooled and returned, hands
the row over. One worker thread micro-batches the queued rows per version, predicts, and writes
``shadow_output`` / ``shadow_score`` / ``shadow_error`` onto the row's audit record with an
UPDATE keyed by request id (idempotent), once the audit writer has put that row in the store (with a
drainer process, as spool lines after their rows, which the drainer writes).
The shadowing version runs in its own process (:mod:`nb2prod.runtime.isolated`), so its batches
never hold the live process's GIL. A shadow model that raises, crashes or is slower than its
timeout only fills ``shadow_error``. Shadow
results live in memory until written: a crash can lose them, never a live row.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nb2prod.rollout.compare import TIMEOUT_PREFIX
from nb2prod.runtime.predictor import error_text, jsonable
from nb2prod.runtime.spool import SHADOW

if TYPE_CHECKING:
    from nb2prod.runtime.audit_writer import AuditWriter
    from nb2prod.runtime.metrics import RuntimeMetrics
    from nb2prod.runtime.traffic import RowPredictor

__all__ = ["ShadowJob", "ShadowRunner", "shadow_deadline_ms"]

log = logging.getLogger("nb2prod.runtime")
MAX_WAIT_FOR_ROW_S = 120.0  # a shadow result whose live row is not in the store by then is dropped
WRITE_EVERY_S = 0.25  # results are written in one transaction at most this often (fewer commits beside the live path)
WRITE_AT_ONCE = 1000
SHADOW_DEADLINE_FACTOR = 10.0  # the shadow is off the response path: queueing behind a busy live model is not its fault
SHADOW_DEADLINE_FLOOR_MS = 2000.0
_HURRY = "hurry"  # queued by flush(): stop gathering, predict and write now


def shadow_deadline_ms(setting_ms: float | None, live_timeout_ms: float) -> float:
    """The shadow's own deadline: the ``shadow_timeout_ms`` setting, else well above the live timeout."""
    if setting_ms is not None:
        return setting_ms
    return max(SHADOW_DEADLINE_FLOOR_MS, SHADOW_DEADLINE_FACTOR * live_timeout_ms)


@dataclass(eq=False)
class ShadowJob:
    """One row to shadow: the live row's request id, its inputs, and who shadows it."""

    request_id: str
    row: dict[str, Any]
    version_id: str
    predictor: RowPredictor
    spooled: int = 0  # the audit writer's append count once the live row was spooled


@dataclass(eq=False)
class _Result:
    request_id: str
    output: Any
    score: float | None
    error: str | None
    spooled: int
    born: float


class ShadowRunner:
    """Bounded shadow queue, one worker thread, results written onto the stored audit rows."""

    def __init__(
        self,
        writer: AuditWriter,
        *,
        capacity: int = 1000,
        timeout_s: float = 0.25,
        max_batch: int = 64,
        batch_wait_s: float = 0.1,
        metrics: RuntimeMetrics | None = None,
    ) -> None:
        self.writer = writer
        self.metrics = metrics
        self.batch_wait_s = batch_wait_s
        self.capacity = capacity
        self.timeout_s = timeout_s
        self.max_batch = max_batch
        self._slots = threading.BoundedSemaphore(capacity)
        self._queue: queue.SimpleQueue[ShadowJob | str | None] = queue.SimpleQueue()
        self._results: list[_Result] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._thread: threading.Thread | None = None
        self._stop = False
        self.skipped = 0
        self.predicted = 0
        self.failed = 0
        self.timeouts = 0
        self.written = 0
        self.dropped = 0
        self.last_error: str | None = None

    # -- request path --------------------------------------------------------------------------
    def reserve(self) -> bool:
        """Take a queue slot without waiting; False (and counted) when the queue is full."""
        if self._stop or not self._slots.acquire(blocking=False):
            with self._lock:
                self.skipped += 1
            if self.metrics is not None:
                self.metrics.shadow("skipped")
            return False
        with self._lock:
            self._inflight += 1
        return True

    def release(self, n: int = 1) -> None:
        """Give back slots reserved for rows that will not be shadowed after all."""
        for _ in range(n):
            self._finish_one()

    def submit(self, jobs: list[ShadowJob]) -> None:
        for job in jobs:
            self._queue.put(job)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> ShadowRunner:
        self._thread = threading.Thread(target=self._run, name="nb2prod-shadow", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Finish what is queued (within ``timeout``), write what can be written, stop."""
        self.flush(timeout)
        self._stop = True
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def pending(self) -> int:
        with self._lock:
            return self._inflight

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every reserved row is predicted and written (or dropped); False on timeout.

        The worker stops gathering rows for its current batch and predicts what it has at once.
        """
        deadline = time.monotonic() + timeout
        self._queue.put(_HURRY)
        with self._idle:
            while self._inflight > 0:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    return self._inflight == 0
                self._idle.wait(min(left, 0.05))
        return True

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queued": self._inflight,
                "capacity": self.capacity,
                "skipped_queue_full": self.skipped,
                "predicted": self.predicted,
                "failed": self.failed,
                "timeouts": self.timeouts,
                "written": self.written,
                "dropped": self.dropped,
                "last_error": self.last_error,
            }

    # -- worker --------------------------------------------------------------------------------
    def _finish_one(self) -> None:
        with self._idle:
            self._inflight -= 1
            self._idle.notify_all()
        self._slots.release()

    def _run(self) -> None:
        from nb2prod.runtime.loading import limit_math_threads

        limit_math_threads()  # per thread: without it each tree of a boosted model spins on every core
        while True:
            wait = 0.02 if self._results else None
            try:
                got = self._queue.get(timeout=wait) if wait else self._queue.get()
            except queue.Empty:
                got = None
                if not self._stop:
                    self._write_ready()
                    continue
            if isinstance(got, str):  # _HURRY with nothing gathered: write what is ready
                self._write_ready(force=True)
                continue
            job = got
            if job is None and self._stop:
                self._write_ready(force=True)
                return
            jobs = [] if job is None else [job]
            # gather rows for up to batch_wait_s: one model call for many rows costs little more than
            # for one, so the shadow takes a small share of the CPU the live path needs
            until = time.monotonic() + self.batch_wait_s
            while len(jobs) < self.max_batch:
                left = until - time.monotonic()
                try:
                    more = self._queue.get(timeout=left) if left > 0 and not self._stop else self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(more, str):  # _HURRY: someone is flushing, predict what was gathered now
                    break
                if more is None:
                    self._stop = True
                    break
                jobs.append(more)
            try:
                self._predict(jobs)
            except Exception as exc:  # never lose track of a slot on a bug
                log.exception("shadow batch failed")
                self.last_error = error_text(exc)
                for _ in jobs:
                    self._finish_one()
            self._write_ready()

    def _predict(self, jobs: list[ShadowJob]) -> None:
        groups: dict[int, list[ShadowJob]] = defaultdict(list)
        for job in jobs:
            groups[id(job.predictor)].append(job)
        now = time.monotonic()
        results: list[_Result] = []
        for group in groups.values():
            predictor = group[0].predictor
            start = time.perf_counter()
            try:
                outputs = predictor.predict_rows([j.row for j in group])
                pairs: list[tuple[Any, float | None, str | None]] = [
                    (jsonable(outputs.decisions[i]), outputs.scores[i], None) for i in range(len(group))
                ]
            except Exception as exc:
                pairs = self._one_by_one(predictor, group, exc)
            elapsed = time.perf_counter() - start
            if elapsed > self.timeout_s:  # the whole micro-batch was slower than one answer may be
                text = f"{TIMEOUT_PREFIX} shadow answer took {elapsed * 1000:.0f} ms (limit {self.timeout_s * 1000:g} ms)"
                pairs = [(None, None, text if err is None else err) for _, _, err in pairs]
            # a late answer is "not compared", never a candidate failure: counted apart everywhere
            timeouts = sum(1 for _, _, err in pairs if err is not None and err.startswith(TIMEOUT_PREFIX))
            errors = sum(err is not None for _, _, err in pairs) - timeouts
            with self._lock:
                self.predicted += len(group)
                self.failed += errors
                self.timeouts += timeouts
            if self.metrics is not None:
                self.metrics.shadow("timeout", timeouts)
                self.metrics.shadow("error", errors)
                self.metrics.shadow("ok", len(group) - errors - timeouts)
            results.extend(
                _Result(j.request_id, out, score, err, j.spooled, now) for j, (out, score, err) in zip(group, pairs, strict=True)
            )
        self._results.extend(results)

    @staticmethod
    def _one_by_one(predictor: RowPredictor, group: list[ShadowJob], batch_error: Exception) -> list[tuple[Any, float | None, str | None]]:
        from nb2prod.runtime.isolated import ShadowProcessError

        if len(group) == 1 or isinstance(batch_error, ShadowProcessError):  # the batch failed as a whole
            text = f"{TIMEOUT_PREFIX} {batch_error}" if getattr(batch_error, "timed_out", False) else error_text(batch_error)
            return [(None, None, text)] * len(group)
        pairs: list[tuple[Any, float | None, str | None]] = []
        for job in group:
            try:
                outputs = predictor.predict_rows([job.row])
                pairs.append((jsonable(outputs.decisions[0]), outputs.scores[0], None))
            except Exception as exc:
                pairs.append((None, None, error_text(exc)))
        return pairs

    def _write_ready(self, *, force: bool = False) -> None:
        """Write the results whose live rows the audit writer has stored; drop the hopeless ones."""
        if not self._results:
            return
        now = time.monotonic()
        if not force and len(self._results) < WRITE_AT_ONCE and now - self._results[0].born < WRITE_EVERY_S:
            return
        drained = self.writer.drained
        # a drainer process applies them after their rows (spool order): no need to wait for the row here
        ready = [r for r in self._results if self.writer.child is not None or r.spooled <= drained]
        if not ready and all(now - r.born <= MAX_WAIT_FOR_ROW_S for r in self._results):
            return
        if ready:
            try:
                self._update(ready)
            except Exception as exc:
                from nb2prod.runtime.audit_writer import is_transient

                text = error_text(exc)
                if text != self.last_error:
                    log.warning("shadow results not stored%s: %s", " yet" if is_transient(exc) else "", text)
                self.last_error = text
                if not is_transient(exc):  # the store refuses them: drop (shadow rows may be lost, live rows never)
                    for r in ready:
                        r.born = now - MAX_WAIT_FOR_ROW_S - 1
                ready = []
        written = {id(r) for r in ready}
        stale = [r for r in self._results if id(r) not in written and now - r.born > MAX_WAIT_FOR_ROW_S]
        done = written | {id(r) for r in stale}
        self._results = [r for r in self._results if id(r) not in done]
        with self._lock:
            self.written += len(ready)
            self.dropped += len(stale)
        for _ in range(len(ready) + len(stale)):
            self._finish_one()

    def _update(self, results: list[_Result]) -> None:
        answers = [{"request_id": r.request_id, "output": r.output, "score": r.score, "error": r.error} for r in results]
        if self.writer.child is not None:  # process mode: the drainer writes them, off this process's GIL
            self.writer.spool.append([{"_kind": SHADOW, **a} for a in answers])
            return
        self.writer.store.get().audit.write_shadow(answers)
