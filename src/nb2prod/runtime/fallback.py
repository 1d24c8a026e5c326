"""The declared fallback: who answers when the model cannot (error, timeout, unhealthy, guardrails).

Strategies (chosen at ``%deploy``): ``baseline`` (a simple model trained at deploy time,
``model/baseline.pkl``), ``previous_version`` (the model of an earlier version of the same
deployment, from its sibling folder), ``constant`` (a fixed decision) and ``none`` (no stand-in:
the answer carries ``prediction: null``, flagged as a fallback with its reason). If the declared
strategy itself fails, the constant answers (``fallback.constant``, else the first class / 0.0),
so a request always gets an answer, flagged as a fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from nb2prod.runtime.loading import load_model
from nb2prod.runtime.predictor import Outputs, Predictor
from nb2prod.runtime.spec import DeploymentSpec, load_spec

__all__ = ["Fallback", "build_fallback"]

log = logging.getLogger("nb2prod.runtime")


class Fallback:
    """Answers rows without the live model; never raises."""

    def __init__(self, spec: DeploymentSpec, predictor: Predictor | None, *, strategy: str, detail: str) -> None:
        self.strategy = strategy
        self.detail = detail
        self._predictor = predictor
        self._task = spec.task
        constant = spec.fallback_constant
        if constant is None and strategy != "none":
            constant = spec.classes[0] if spec.classes else 0.0
        self.constant = constant

    @property
    def uses_model(self) -> bool:
        return self._predictor is not None

    def constant_outputs(self, n: int) -> Outputs:
        score = float(self.constant) if self._task == "regression" and isinstance(self.constant, int | float) else None
        return Outputs(decisions=[self.constant] * n, scores=[score] * n, probabilities=[None] * n)

    def predict_rows(self, rows: Sequence[dict[str, Any]]) -> tuple[Outputs, str]:
        """Fallback answers for ``rows`` and the strategy that produced them."""
        if self._predictor is not None:
            try:
                return self._predictor.predict_rows(rows), self.strategy
            except Exception as exc:  # the fallback must answer even when its own model breaks
                log.warning("fallback %s failed (%s: %s); answering the constant", self.strategy, type(exc).__name__, exc)
        return self.constant_outputs(len(rows)), "constant"


def build_fallback(spec: DeploymentSpec) -> Fallback:
    """The fallback declared in ``spec``; an unloadable one degrades to the constant, with a log line."""
    strategy = spec.fallback_strategy
    if strategy == "constant":
        return Fallback(spec, None, strategy="constant", detail=f"constant {spec.fallback_constant!r}")
    if strategy == "none":
        return Fallback(spec, None, strategy="none", detail="none declared: prediction null when the model cannot answer")
    try:
        if strategy == "baseline":
            model = load_model(spec.folder, which="baseline")
            # the baseline (a Dummy estimator) scores with predict_proba whatever the live model uses
            method = None if spec.task == "regression" else "predict_proba"
            predictor = Predictor(model, spec, label="baseline model", score_method=method)
            return Fallback(spec, predictor, strategy="baseline", detail=spec.baseline_file)
        previous = spec.previous_version
        if not previous:
            raise ValueError("fallback.previous_version is not set")
        folder = spec.folder.parent / previous
        previous_spec = load_spec(folder)  # a real deployment folder of this deployment
        model = load_model(folder)
        predictor = Predictor(model, spec, label=f"previous version {previous}", score_method=previous_spec.score_method)
        return Fallback(spec, predictor, strategy="previous_version", detail=previous)
    except Exception as exc:
        log.warning("fallback %s unavailable (%s); the constant answers instead", strategy, exc)
        return Fallback(spec, None, strategy="constant", detail=f"{strategy} unavailable: {exc}")
