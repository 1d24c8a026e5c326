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

The parts, by what each owns: :mod:`~nb2prod.runtime.state` (shared state), :mod:`~nb2prod.runtime.jobs`
(a job, an answer, settling callers), :mod:`~nb2prod.runtime.intake` (requests in, waiting, shedding),
:mod:`~nb2prod.runtime.batching` (the model thread), :mod:`~nb2prod.runtime.answering` (predictions and
audit rows), :mod:`~nb2prod.runtime.feedback` (feedback and overrides); this module loads, starts,
stops and reports on the whole.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from nb2prod.errors import Nb2prodError
from nb2prod.runtime.alert_watcher import AlertWatcher, start_alert_watcher
from nb2prod.runtime.audit_writer import AuditWriter, StoreHandle
from nb2prod.runtime.batching import ModelLoop
from nb2prod.runtime.compiled import PredictPath
from nb2prod.runtime.drainer_child import drainer_mode
from nb2prod.runtime.explain import Explainer, build_explainer
from nb2prod.runtime.fallback import build_fallback
from nb2prod.runtime.feedback import FeedbackHandling
from nb2prod.runtime.intake import RequestIntake
from nb2prod.runtime.loading import limit_math_threads, load_model, load_sample
from nb2prod.runtime.predictor import Predictor, error_text
from nb2prod.runtime.spec import load_spec
from nb2prod.runtime.spool import resolve_spool_dir

__all__ = ["GuardedRuntime"]

log = logging.getLogger("nb2prod.runtime")


_collected = False
_DEFAULT_THRESHOLD = gc.get_threshold()
# A request leaves cyclic garbage (BentoML's OpenTelemetry spans and their contexts, futures) that is still
# alive at CPython's young collections (every 700 allocations: several per request), so it was promoted to
# the oldest generation and freed only by full collections, which walk every long-lived object: 100-300 ms
# stalls (batches past timeout_ms) and CPU per request growing ~15 % over a minute of load. A young
# generation of 50,000 objects (a few ms to collect) lets that garbage die young.
SERVING_GC_THRESHOLD = (50_000, 20, 10)


def _freeze_loaded_objects() -> None:
    """Move everything loaded so far (libraries, model, service) out of the garbage collector's sight,
    and let a request's garbage die young (:data:`SERVING_GC_THRESHOLD`).

    A full collection walked ~285,000 long-lived objects of a loaded service and held the GIL for
    150-275 ms — every thread stalls, a batch in flight passes ``timeout_ms`` and the tail latency is that
    pause. Frozen objects are never scanned again; what the service allocates while serving still is.
    ``NB2PROD_GC_FREEZE=0`` leaves the collector as CPython has it.
    """
    global _collected
    if os.environ.get("NB2PROD_GC_FREEZE", "").strip() == "0":
        return
    if not _collected:  # once per process: garbage from start-up is not kept forever
        gc.collect()
        _collected = True
    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLD)


class GuardedRuntime(RequestIntake, ModelLoop, FeedbackHandling):
    """The live model plus fallback, guardrails, health, explanations, audit log and metrics.

    Build with :meth:`load`; call :meth:`predict` (sync) or :meth:`apredict` (async), and
    :meth:`feedback` / :meth:`override`; :meth:`close` drains the audit log.
    """

    alert_watcher: AlertWatcher | None = None  # evaluates the alert rules off the request path (see start)

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
        drainer: str = "thread",
    ) -> GuardedRuntime:
        """Load a deployment folder: model, fallback, explainer, audit writer; run the canary.

        The store is ``store_url``, else ``NB2PROD_STORE_URL``, else deployment.json's
        ``store_url``; the spool is ``spool_dir``, else ``NB2PROD_SPOOL_DIR``, else
        ``<NB2PROD_HOME>/spool/<name>/<version>`` (never inside the folder, which may be a BentoML model).
        A model that cannot load does not stop the service: the fallback
        answers and the health probes report it. ``drainer`` (``thread`` or ``process``) is how the spool
        reaches the store unless ``NB2PROD_AUDIT_DRAINER`` says otherwise; the generated service asks for
        ``process``.
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
        writer = AuditWriter(spool, handle, drainer=drainer_mode(default=drainer))
        runtime = cls(spec, predictor, fallback, writer, explainer=explainer, sample=sample, load_error=load_error)
        runtime.writer._enrich = runtime._enrich_stored
        runtime.limit_threads = limit_threads
        runtime._select_predict_path()
        if start:
            runtime.start()
        return runtime

    def _select_predict_path(self) -> None:
        """The compiled numpy path when it answers every sample row exactly as the pipeline does (proven here,
        in the serving process); ``NB2PROD_PREDICT_PATH=sklearn`` keeps the plain pipeline."""
        if self.predictor is None:
            return
        if os.environ.get("NB2PROD_PREDICT_PATH", "").strip().lower() == "sklearn":
            self.predictor.path = PredictPath("sklearn", "NB2PROD_PREDICT_PATH=sklearn")
            return
        rows = self._sample.get("rows") or []
        try:
            valid = self.schema.validate_rows([{k: r.get(k) for k in self.spec.feature_names} for r in rows])
            path = self.predictor.use_fast_path(valid)
        except Exception as exc:  # the proof itself failed: the plain pipeline serves
            path = self.predictor.path = PredictPath("sklearn", f"predict path not proven: {error_text(exc)}")
        log.info("predict path: %s (%s)", path.name, path.reason)

    def start(self) -> GuardedRuntime:
        """Start the audit writer (replaying orphan spool segments), run the canary, start the model thread."""
        self.gil.start()
        self.writer.start()
        self.shadow.start()
        try:
            self.traffic.refresh()
        except Exception as exc:  # the store may be down at start: serve as live, retry in the background
            log.warning("traffic not read at start, serving this version until it is: %s", error_text(exc))
        self.traffic.start_polling()
        self.alert_watcher = start_alert_watcher(self.spec.name, self.writer.store)
        ok, detail = self._canary()
        self.health.set_canary(ok, detail)
        if not ok:
            log.error("canary failed, the fallback answers until a probe passes: %s", detail)
        seeded = threading.Event()
        self._worker = threading.Thread(target=self._serve_batches, args=(seeded,), name="nb2prod-model", daemon=True)
        self._worker.start()
        seeded.wait(30)  # serve once the batch bound is measured (a stuck model must not block start-up)
        _freeze_loaded_objects()
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
        if self.alert_watcher is not None:
            self.alert_watcher.close()
        drained = self.writer.close(timeout)
        self.writer.store.close()
        self.gil.close()
        gc.set_threshold(*_DEFAULT_THRESHOLD)
        gc.unfreeze()  # what start() froze may be collected again (cycles left at exit are otherwise reported as leaks)
        return drained

    def __enter__(self) -> GuardedRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        """Alive, the model's error rate within ``health.max_error_rate`` and the audit drainer (process mode) running."""
        self._maybe_probe()
        return self.is_alive() and not self.health.circuit_open and not self._model_stuck() and self.writer.drainer_down is None

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
            "alerts": None if self.alert_watcher is None else self.alert_watcher.snapshot(),
            "shed": self.shed,  # requests answered 503 (queue over serving.max_queue_ms)
            "predict_path": None if self.predictor is None or self.predictor.path is None else self.predictor.path.to_dict(),
            "queue": {"waiting_jobs": self._queue.qsize(), "computing_rows": self._computing, "max_batch": self.spec.max_batch},
            "gil": {"switch_interval_ms": round(self.gil.interval_s * 1000, 3), "shortened": self.gil.shortened},
        }

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every audit row and every shadow result so far is in the store."""
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        # with a drainer process the shadow results are spool lines too: flush the writer again after them
        return self.writer.flush(timeout) and self.shadow.flush(left()) and self.writer.flush(left())
