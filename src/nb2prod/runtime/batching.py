"""The model thread: adaptive micro-batches from the queue (bounded by the measured per-row compute),
guardrails and one model call per answering version, the fallback for rows the model cannot answer,
explanations asked for, and delivery — audit rows fsync'd (group commit) before any answer leaves."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from nb2prod.errors import StoreError
from nb2prod.models import Prediction
from nb2prod.runtime.answering import AnswerBuilder
from nb2prod.runtime.explain import as_dense
from nb2prod.runtime.jobs import Answer, Job, Tally, response_body, settle
from nb2prod.runtime.open_requests import OPEN_PREDICTIONS
from nb2prod.runtime.predictor import Predictor, error_text
from nb2prod.runtime.shadow import ShadowJob

__all__ = ["ModelLoop"]

log = logging.getLogger("nb2prod.runtime")

FILL_MAX_S = 0.005  # the longest a batch waits for open requests to reach the queue


class ModelLoop(AnswerBuilder):
    """The model thread's side of the runtime (started by ``GuardedRuntime.start``)."""

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
            jobs = [job]
            stop = self._fill(jobs, self._batch_limit())
            try:
                self._process(jobs)
            except Exception as exc:  # never leave a caller waiting on a bug
                log.exception("guarded runtime batch failed")
                settle([(j, None, exc) for j in jobs if not j.probe and (j.future is None or not j.future.done())])
            if stop:
                return

    def _fill(self, jobs: list[Job], limit: int) -> bool:
        """Add queued jobs to ``jobs`` up to ``limit`` rows; True when the queue says stop.

        While this process holds more open prediction requests than ``jobs`` (the rest are being parsed
        on the event loop, or answered and on their way out), wait for them a little: at most half the
        last batch's compute time, capped at :data:`FILL_MAX_S`. A batch's fixed cost then serves more rows,
        so throughput rises under load; a lone request (nothing else open) never waits.
        """
        size = sum(len(j.rows) for j in jobs)
        deadline: float | None = None
        while size < limit:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                if len(jobs) >= OPEN_PREDICTIONS.count:
                    return False
                now = time.perf_counter()
                if deadline is None:
                    deadline = now + min(FILL_MAX_S, 0.5 * self._batch_cost_s)
                if now >= deadline:
                    return False
                try:
                    more = self._queue.get(timeout=deadline - now)
                except queue.Empty:
                    return False
            if more is None:
                return True
            jobs.append(more)
            size += len(more.rows)
        return False

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
        self._batch_cost_s = time.perf_counter() - started
        self._row_cost_s = self._batch_cost_s / len(batch)

    def _batch_limit(self) -> int:
        """Rows to take into the next micro-batch: ``serving.max_batch``, fewer when the measured compute per
        row says a full batch would spend more than half the model timeout. Past that, a spike would turn
        every row of the batch into a timeout fallback; the rows left waiting are served by the next batch
        or shed with a 503 when the queue budget runs out, which a client can retry."""
        cost = self._row_cost_s
        if cost <= 0.0:
            return self.spec.max_batch
        return max(1, min(self.spec.max_batch, int(0.5 * self._timeout_s / cost)))

    def _run_probe(self, job: Job) -> None:
        ok, detail = self._canary()
        self.health.probe_result(ok, detail if ok else f"probe failed: {detail}")
        if ok:
            log.info("model healthy again (canary probe passed); circuit closed")

    def _process(self, jobs: list[Job]) -> None:
        live: list[Job] = []
        stale: list[Job] = []
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
            settle([(job, None, self._shed(len(job.rows))) for job in stale])
        if not live:
            return
        rows = self._computing = sum(len(job.rows) for job in live)
        started = self._computing_since = time.perf_counter()
        cpu_started = time.thread_time()
        self._ok_rows = self._late_rows = 0
        try:
            self._compute(live)
        finally:
            self._computing, self._computing_since = 0, None
            self._judge_batch()
            took = time.perf_counter() - started
            per_row = took / max(rows, 1)
            self._row_cost_s = per_row if self._row_cost_s <= 0.0 else 0.8 * self._row_cost_s + 0.2 * per_row
            self._batch_cost_s = took if self._batch_cost_s <= 0.0 else 0.8 * self._batch_cost_s + 0.2 * took
            self.gil.observe(took, time.thread_time() - cpu_started)

    def _judge_batch(self) -> None:
        """Health of one model call: a late batch is one failed call, whatever its size (a stall of this
        process — GIL, GC, a busy machine — makes a whole batch late at once, and counted per row it opened
        the circuit on one stall); its late rows are not successes, so a model that is always too slow
        still fails every call. A hung model is caught while it hangs (``_model_stuck``)."""
        late, ok = self._late_rows, self._ok_rows
        if late:
            self.health.record(False, 1, error=f"timeout: a batch took longer than {self.spec.timeout_ms:g} ms")
        if ok > late:
            self.health.record(True, ok - late)

    def _compute(self, live: list[Job]) -> None:
        versions = None
        if any(job.routes is not None for job in live):
            own = self.spec.version_id
            versions = [own if job.routes is None else job.routes[i].version_id for job in live for i in range(len(job.rows))]
        answers = self._answers([row for job in live for row in job.rows], versions)
        plain: list[tuple[Job, list[Answer]]] = []
        explained: list[tuple[Job, list[Answer]]] = []
        start = 0
        for job in live:
            part = answers[start : start + len(job.rows)]
            start += len(job.rows)
            (explained if job.explain and self.explainer is not None else plain).append((job, part))
        self._deliver(plain, inline=not explained)  # never fsync here while explained jobs' compute deadline runs
        if explained:
            self._explain(explained)
            self._deliver(explained)

    def _answers(self, rows: list[dict[str, Any]], versions: list[str] | None = None) -> list[Answer]:
        """Guardrails, one model call per answering version for the rows that pass, the fallback for the rest.

        ``versions`` names the version answering each row (None: this service's own, for all).
        """
        violations = self._violations(rows)
        answers: list[Answer | None] = [None] * len(rows)
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
                    self._ok_rows += len(members)
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
        answers: list[Answer | None],
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

    def _explain(self, explained: list[tuple[Job, list[Answer]]]) -> None:
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

    def _deliver(self, pairs: list[tuple[Job, list[Answer]]], *, inline: bool = True) -> None:
        """Claim each job, spool all their audit rows with one fsync, then answer them."""
        ready: list[tuple[Job, list[Prediction]]] = []
        records: list[dict[str, Any]] = []
        shadows: list[ShadowJob] = []
        tally = Tally()
        for job, answers in pairs:
            if not self._claim(job):
                self._late_rows += len(job.rows)
                continue  # its caller gave up on it (model timeout, or shed) and answered already
            predictions, rows, shadowed = self._finish(job, answers, tally)
            ready.append((job, predictions))
            records.extend(rows)
            shadows.extend(shadowed)
        if not ready:
            return
        bodies = [response_body(predictions, job.json) if job.json else predictions for job, predictions in ready]

        def durable(error: BaseException | None) -> None:  # on the committer thread, once fsync'd
            if error is not None:
                self.shadow.release(len(shadows))
                settle([(job, None, error) for job, _ in ready])
                return
            settle([(job, body, None) for (job, _), body in zip(ready, bodies, strict=True)])
            tally.flush(self.metrics)
            self._shadow(shadows)  # after the answers: the shadow model is off the response path

        if inline and self._queue.empty():  # nothing to compute meanwhile: sync here, one thread hop fewer for the answer
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
