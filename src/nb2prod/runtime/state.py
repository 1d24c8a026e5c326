"""What every part of the guarded runtime shares: the loaded model, fallback, guardrails, health,
audit writer, rollout and the queue to the model thread, plus the few helpers all parts use
(claiming a job, the canary, which predictor answers a version)."""

from __future__ import annotations

import concurrent.futures
import math
import queue
import random
import threading
import time
from collections import OrderedDict
from typing import Any

from nb2prod.errors import NotFoundError, OverloadedError
from nb2prod.runtime.answer_match import same_answer
from nb2prod.runtime.audit_writer import AuditWriter
from nb2prod.runtime.explain import Explainer
from nb2prod.runtime.fallback import Fallback
from nb2prod.runtime.gateway import gateway_mode
from nb2prod.runtime.gil import GilHandover
from nb2prod.runtime.guardrails import Guardrails
from nb2prod.runtime.health import Health
from nb2prod.runtime.jobs import Job
from nb2prod.runtime.loading import limit_math_threads
from nb2prod.runtime.metrics import RuntimeMetrics
from nb2prod.runtime.predictor import Predictor, error_text
from nb2prod.runtime.request_ids import RequestIds
from nb2prod.runtime.schema import ServiceSchema, build_schema
from nb2prod.runtime.shadow import ShadowRunner, shadow_deadline_ms
from nb2prod.runtime.spec import DeploymentSpec
from nb2prod.runtime.traffic import RolloutSettings, TrafficWatcher

__all__ = ["STORED_EXPLAIN_CPU_SHARE", "RuntimeState"]

STORED_EXPLAIN_CPU_SHARE = 0.05  # seconds of explaining per second, for sampled / flagged rows


class RuntimeState:
    """The guarded runtime's state; :class:`~nb2prod.runtime.guarded.GuardedRuntime` adds the behaviour."""

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
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
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
        self._computing_since: float | None = None  # perf_counter when the model thread took its current batch
        self._stuck_after_s = max(4 * self._timeout_s, 1.0)  # one batch computing longer than this: the model hangs
        self._ok_rows = 0  # rows of the batch being computed that this service's own model answered
        self._late_rows = 0  # rows of that batch whose callers gave up (timeout) before it was delivered
        self._row_cost_s = 0.0  # moving average of a batch's compute time per row (0: not measured yet)
        self._batch_cost_s = 0.0  # moving average of a batch's compute time (0: not measured yet)
        self.gil = GilHandover(self._timeout_s)
        self._closed = False
        self._random = random.Random()
        self._explain_budget = STORED_EXPLAIN_CPU_SHARE
        self._explain_at = time.monotonic()
        self.rollout = RolloutSettings.from_spec(spec)
        self.gateway = gateway_mode()  # behind nginx / a Gateway API route: serve this version only
        self.traffic = TrafficWatcher(spec, writer.store, self.rollout, gateway=self.gateway)
        shadow_timeout = shadow_deadline_ms(self.rollout.shadow_timeout_ms, spec.timeout_ms)
        self.shadow = ShadowRunner(writer, capacity=self.rollout.shadow_queue, timeout_s=shadow_timeout / 1000.0,
                                   max_batch=spec.max_batch, batch_wait_s=self.rollout.shadow_batch_ms / 1000.0,
                                   metrics=self.metrics)


    def _thread_init(self) -> None:
        # threadpoolctl's OpenMP limit is per thread: a thread that never set it runs every tree of a
        # gradient-boosting model on all cores, which on a busy machine spins and stalls (measured
        # here: 70-140 ms per batch instead of 8 ms).
        if self.limit_threads:
            limit_math_threads()

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
        if expected is not None and not same_answer(expected, decision):
            return False, f"canary predicted {decision!r} for the first sample row; the notebook's model predicted {expected!r}"
        return True, "canary prediction on the first sample row matches"

    def _own(self, job: Job, i: int) -> bool:
        """Row ``i`` of ``job`` is answered by this service's own version (the one with the explainer)."""
        return job.routes is None or job.routes[i].version_id == self.spec.version_id

    def _computing_for(self) -> float:
        """Seconds the model thread has spent on its current batch (0 when idle)."""
        since = self._computing_since
        return 0.0 if since is None else time.perf_counter() - since

    def _model_stuck(self) -> float:
        """Seconds the model thread has spent on its current batch when past the hang limit, else 0."""
        held = self._computing_for()
        return held if held > self._stuck_after_s else 0.0

    def _unhealthy_reason(self) -> str:
        stuck = self._model_stuck()
        if stuck:
            return f"unhealthy: model computing one batch for {stuck * 1000:.0f} ms (hang limit {self._stuck_after_s * 1000:.0f} ms)"
        if self.predictor is None:
            return f"unhealthy: model not loaded ({self.load_error})"
        if not self.health.canary_ok:
            return f"unhealthy: {self.health.canary_detail}"
        return f"unhealthy: model error rate {self.health.error_rate:.0%} above {self.spec.max_error_rate:.0%}"

    def _claim(self, job: Job) -> bool:
        with self._claim_lock:
            if job.claimed:
                return False
            job.claimed = True
            return True

    def _predictor_of(self, version_id: str) -> Predictor | None:
        if version_id == self.spec.version_id:
            return self.predictor
        return self.traffic.predictor(version_id)

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
