"""Turning model (or fallback) outputs into answers: one row's answer and confidence, the caller's
predictions and the audit rows of a job, the rows handed to the shadow, and explanations added to
sampled stored rows off the request path."""

from __future__ import annotations

import time
from typing import Any

from nb2prod.errors import StoreError
from nb2prod.models import Prediction
from nb2prod.runtime.guardrails import Guardrails
from nb2prod.runtime.jobs import Answer, Job, Tally
from nb2prod.runtime.predictor import Outputs, jsonable
from nb2prod.runtime.shadow import ShadowJob
from nb2prod.runtime.state import STORED_EXPLAIN_CPU_SHARE, RuntimeState

__all__ = ["EXPLAIN_CHUNK", "AnswerBuilder"]

EXPLAIN_CHUNK = 8  # stored rows explained per call (each call holds the GIL: ~6 ms for 8 tree-explained rows)


class AnswerBuilder(RuntimeState):
    """Answers, predictions and audit rows of a job; the fallback's whole-job answers."""

    def _answer_timeout(self, job: Job) -> list[Prediction]:
        # health counts the late batch once, from the model thread (ModelLoop._process), not each of its rows here
        self.metrics.error("timeout", len(job.rows))
        return self._answer_fallback(job, f"timeout: no model answer within {self.spec.timeout_ms:g} ms")

    def _answer_fallback(self, job: Job, reason: str) -> list[Prediction]:
        """Answer a whole job from the fallback (timeout / unhealthy); spooled before returning."""
        outputs, _ = self.fallback.predict_rows(job.rows)
        violations = self._violations(job.rows)
        answers = [self._answer_from(outputs, i, fallback=True, reason=reason, violations=v) for i, v in enumerate(violations)]
        tally = Tally()
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
    ) -> Answer:
        transformed = None if fallback or not keep or outputs.transformed is None else (outputs.transformed, i)
        return Answer(
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

    def _confidence(self, answer: Answer) -> str:
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
        self, job: Job, answers: list[Answer], tally: Tally
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

    def _shadow(self, shadows: list[ShadowJob]) -> None:
        """Hand rows to the shadow worker once their live rows are spooled (and answered)."""
        if shadows:
            spooled = self.writer.spool.appended
            for job in shadows:
                job.spooled = spooled
            self.shadow.submit(shadows)

    def _violations(self, rows: list[dict[str, Any]]) -> list[list[str]]:
        """Guardrail violations of a micro-batch, one call for all its rows."""
        return self.guardrails.check_rows(rows)  # type: ignore[return-value]

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
        # a tree explainer holds the GIL for its whole call (49 ms for 64 rows measured here, every thread
        # stalled): small calls let the model thread and the event loop in between them
        for i in range(0, len(wanted), EXPLAIN_CHUNK):
            if self._explain_budget <= 0:
                return  # the rest is stored without an explanation
            chunk = wanted[i : i + EXPLAIN_CHUNK]
            start = time.perf_counter()
            values = self.explainer.explain([r["inputs"] for r in chunk])
            self._explain_budget -= time.perf_counter() - start
            for record, value in zip(chunk, values, strict=True):
                record["explanation"] = value
