"""Requests in: validated rows become a job with our request ids and each row's traffic arm, queued
for the model thread (or claimed for the fallback while the model is unhealthy); the caller then
waits for a batch slot (queue budget: shed with a 503 past it) and for the model's compute
(``timeout_ms``: answered from the fallback past it)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nb2prod.errors import InvalidInputError, Nb2prodError, StoreError
from nb2prod.models import Prediction
from nb2prod.runtime.answering import AnswerBuilder
from nb2prod.runtime.gateway import gateway_routes
from nb2prod.runtime.jobs import Job, response_body

if TYPE_CHECKING:
    from nb2prod.rollout.routing import Route

__all__ = ["RECENT_IDS", "RequestIntake"]

RECENT_IDS = 100_000  # request ids answered lately, known without a store read (feedback / overrides)


class RequestIntake(AnswerBuilder):
    """``predict`` / ``apredict`` / ``apredict_json``: queue a job, wait for its answer."""

    def _maybe_probe(self) -> None:
        if self.predictor is not None and self.health.circuit_open and self.health.claim_probe():
            try:
                row, _ = self._canary_row()
            except Nb2prodError as exc:
                self.health.probe_result(False, str(exc))
                return
            self._queue.put(Job(rows=[row], request_ids=[], explain=False, t0=time.perf_counter(), ts=time.time(), probe=True))

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
        return result if isinstance(result, bytes) else response_body(result, job.json)

    async def _wait(self, job: Job) -> Any:
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

    def _time_left(self, job: Job) -> float:
        """Seconds ``job`` may still wait: for a batch slot (queue budget), then for the model's compute."""
        started = job.started
        if started is None:  # re-check at least every timeout: the model thread may take it meanwhile
            return min(job.t0 + self._queue_budget_s - time.perf_counter(), self._timeout_s)
        return started + self._timeout_s - time.perf_counter()

    # -- prediction: internals -----------------------------------------------------------------
    def _job(
        self, rows: list[dict[str, Any]], explain: bool, request_ids: Sequence[str] | None, keys: Sequence[str | None] | None = None
    ) -> Job:
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
        routes = self._routes(len(rows), keys)
        if self.gateway:  # the gateway chose the arm; its request id correlates this row with the mirrored one
            routes, gateway_ids = gateway_routes(self.traffic.table.traffic, self.spec.version_id, len(rows))
            client_ids = gateway_ids or client_ids
        return Job(rows=rows, request_ids=ids, explain=explain, t0=time.perf_counter(), ts=time.time(),
                    routes=routes, client_ids=client_ids)

    def _routes(self, n: int, keys: Sequence[str | None] | None) -> list[Route] | None:
        """Each row's arm under the current traffic (None: no routing, this version answers all)."""
        table = self.traffic.table
        if table.traffic is None:
            return None
        rng = self._random
        return [table.route(None if keys is None else keys[i], rng) for i in range(n)]

    def _route_to_fallback(self, job: Job) -> bool:
        """Queue the job for the model, or claim it for the fallback when the model is unhealthy."""
        # every request looks at the batch in flight: one held back by a burst shortens the GIL hand-over now
        self.gil.watch(self._computing_for())
        if self.health.circuit_open or self._model_stuck():
            self._maybe_probe()
            if self._claim(job):
                return True
        if job.future is None:
            job.waiter = asyncio.get_running_loop().create_future()
        self._queue.put(job)
        return False
