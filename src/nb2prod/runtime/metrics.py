"""Prometheus metrics of the guarded runtime, labelled by deployment and version.

Created on first use, inside the serving worker, so prometheus-client sees BentoML's
``PROMETHEUS_MULTIPROC_DIR`` and the series appear on the service's own ``/metrics``.
One set per process (several runtimes in one process share it). The runtime updates them once
per micro-batch (counts summed, latencies bucketed), not once per request.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = ["RuntimeMetrics"]

_LOCK = threading.Lock()
_FAMILIES: dict[str, Any] = {}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5)


def _families() -> dict[str, Any]:
    with _LOCK:
        if not _FAMILIES:
            from prometheus_client import Counter, Histogram

            labels = ["deployment", "version"]
            _FAMILIES.update(
                requests=Counter("nb2prod_predictions", "Predictions answered, by who answered", [*labels, "answered_by"]),
                latency=Histogram(
                    "nb2prod_prediction_latency_seconds", "Time to decision per prediction", labels, buckets=LATENCY_BUCKETS
                ),
                errors=Counter("nb2prod_model_errors", "Model failures (exception or timeout)", [*labels, "kind"]),
                fallbacks=Counter("nb2prod_fallbacks", "Predictions answered by the fallback, by reason", [*labels, "reason"]),
                violations=Counter("nb2prod_guardrail_violations", "Guardrail violations, by feature", [*labels, "feature"]),
                feedback=Counter("nb2prod_feedback", "Feedback and overrides received", [*labels, "kind"]),
                audit=Counter("nb2prod_audit_rows", "Audit rows spooled (fsync'd) before answering", labels),
                routed=Counter("nb2prod_routed", "Predictions by traffic arm (live, canary, control)", [*labels, "arm"]),
                shadow=Counter(
                    "nb2prod_shadow",
                    "Shadow predictions by outcome: ok (compared), error (the candidate failed), "
                    "timeout (no answer within the shadow deadline: not compared, not a failure), skipped (queue full)",
                    [*labels, "outcome"],
                ),
                shed=Counter(
                    "nb2prod_shed",
                    "Requests refused with HTTP 503 (Retry-After): queued longer than serving.max_queue_ms",
                    labels,
                ),
            )
        return _FAMILIES


class RuntimeMetrics:
    """Cached children of the process-wide metric families for one deployment version."""

    def __init__(self, deployment: str, version: str) -> None:
        self._labels = (deployment, version)
        families = _families()
        self._families = families
        self.latency = families["latency"].labels(*self._labels)
        self.model_answers = families["requests"].labels(*self._labels, "model")
        self.fallback_answers = families["requests"].labels(*self._labels, "fallback")
        self.audit_rows = families["audit"].labels(*self._labels)
        self.shed_requests = families["shed"].labels(*self._labels)
        self._children: dict[tuple[str, str], Any] = {}

    def _child(self, family: str, value: str) -> Any:
        key = (family, value)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._families[family].labels(*self._labels, value)
        return child

    def observe_latencies(self, seconds: Sequence[float]) -> None:
        """Observe many latencies with one increment per histogram bucket touched (not one per value)."""
        if not seconds:
            return
        child = self.latency
        buckets = getattr(child, "_buckets", None)
        bounds = getattr(child, "_upper_bounds", None)
        total = getattr(child, "_sum", None)
        if buckets is None or bounds is None or total is None or len(buckets) != len(bounds):
            for value in seconds:  # a prometheus-client without these internals: the public, slower way
                child.observe(value)
            return
        counts = Counter(bisect.bisect_left(bounds, value) for value in seconds)  # first bound >= value, as observe()
        total.inc(sum(seconds))
        for index, n in counts.items():
            buckets[index].inc(n)

    def answers(self, model: int, fallback: int, reasons: Counter[str], features: Counter[str]) -> None:
        """One micro-batch's answers: by who answered, fallback reasons, guardrail violations by feature."""
        if model:
            self.model_answers.inc(model)
        if fallback:
            self.fallback_answers.inc(fallback)
        for reason, n in reasons.items():
            self._child("fallbacks", reason).inc(n)
        for feature, n in features.items():
            self._child("violations", feature).inc(n)

    def shed(self, n: int = 1) -> None:
        if n:
            self.shed_requests.inc(n)

    def error(self, kind: str, n: int = 1) -> None:
        self._child("errors", kind).inc(n)

    def fallback(self, reason: str) -> None:
        self._child("fallbacks", reason).inc()

    def violation(self, feature: str) -> None:
        self._child("violations", feature).inc()

    def feedback(self, kind: str) -> None:
        self._child("feedback", kind).inc()

    def routed(self, arm: str, n: int = 1) -> None:
        self._child("routed", arm).inc(n)

    def shadow(self, outcome: str, n: int = 1) -> None:
        if n:
            self._child("shadow", outcome).inc(n)
