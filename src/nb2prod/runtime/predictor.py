"""Turn a fitted model's raw output into decisions, scores and class probabilities for a task.

One call predicts a whole batch (one DataFrame): the per-call overhead of a scikit-learn
pipeline dwarfs its per-row cost, so the runtime batches concurrent requests and calls this once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nb2prod.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

    from nb2prod.runtime.spec import DeploymentSpec

__all__ = ["Outputs", "Predictor", "error_text", "jsonable", "make_frame"]


def error_text(exc: BaseException) -> str:
    """How a failed model call reads in the audit log and status: ``Type: first line`` (≤ 300 chars)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def jsonable(value: Any) -> Any:
    """A numpy scalar as the plain Python value JSON and the store expect."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def make_frame(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows as a DataFrame with the training column order (what the pipeline was fitted on)."""
    import pandas as pd

    return pd.DataFrame.from_records(list(rows), columns=list(columns))


def _pipeline_split(model: Any, method: str) -> tuple[Any, Any] | None:
    """``(model[:-1], final estimator)`` for a scikit-learn Pipeline whose last step has ``method``."""
    steps = getattr(model, "steps", None)
    if not isinstance(steps, list) or len(steps) < 2 or not hasattr(model, "__getitem__"):
        return None
    final = steps[-1][1]
    if final is None or final == "passthrough" or not hasattr(final, method):
        return None
    try:
        return model[:-1], final
    except Exception:
        return None


@dataclass(frozen=True, slots=True)
class Outputs:
    """Per-row results of one batch: decision, score (positive-class probability or value), probabilities."""

    decisions: list[Any]
    scores: list[float | None]
    probabilities: list[dict[str, float] | None]
    transformed: Any = None  # a Pipeline's final-estimator input for these rows (reused by explanations)


class Predictor:
    """A fitted model plus the task semantics of its deployment (classes, threshold)."""

    def __init__(self, model: Any, spec: DeploymentSpec, *, label: str = "model") -> None:
        self.model = model
        self.label = label
        self.task = spec.task
        self.threshold = spec.threshold
        self.columns = spec.feature_names
        self.classes: tuple[Any, ...] = tuple(spec.classes or ())
        self.positive_class = spec.positive_class
        self._proba_index: list[int] = []
        if self.task != "regression":
            if not hasattr(model, "predict_proba"):
                raise InvalidInputError(
                    f"the {label} has no predict_proba, which a {self.task} deployment needs",
                    fix="deploy a classifier with predict_proba, or declare task 'regression'",
                )
            model_classes = [jsonable(c) for c in getattr(model, "classes_", self.classes)]
            missing = [c for c in self.classes if c not in model_classes]
            if missing:
                raise InvalidInputError(
                    f"the {label} does not know the classes {missing!r} declared in deployment.json",
                    fix="re-deploy so deployment.json's classes match the model's classes_",
                )
            self._proba_index = [model_classes.index(c) for c in self.classes]
        self._positive = self.classes.index(self.positive_class) if self.task == "binary" else -1
        self._class_keys = [str(c) for c in self.classes]
        self._split = _pipeline_split(model, "predict" if self.task == "regression" else "predict_proba")

    def predict_frame(self, frame: pd.DataFrame) -> Outputs:
        """Predict every row of ``frame``; raises whatever the model raises, or ValueError on bad output."""
        import numpy as np

        n = len(frame)
        transformed: Any = None
        estimator: Any = self.model
        data: Any = frame
        if self._split is not None:  # exactly what Pipeline.predict_proba does, keeping the final input
            prefix, estimator = self._split
            data = transformed = prefix.transform(frame)
        if self.task == "regression":
            values = np.asarray(estimator.predict(data), dtype=float).reshape(-1)
            if values.shape[0] != n or not np.all(np.isfinite(values)):
                raise ValueError(f"{self.label} returned {values.shape[0]} values (non-finite or wrong count) for {n} rows")
            listed = values.tolist()
            return Outputs(decisions=listed, scores=list(listed), probabilities=[None] * n, transformed=transformed)
        proba = np.asarray(estimator.predict_proba(data), dtype=float)
        if proba.ndim != 2 or proba.shape[0] != n or not np.all(np.isfinite(proba)):
            raise ValueError(f"{self.label} returned probabilities of shape {proba.shape} (or non-finite) for {n} rows")
        proba = proba[:, self._proba_index]
        keys = self._class_keys
        probabilities = [dict(zip(keys, row, strict=True)) for row in proba.tolist()]
        if self.task == "binary":
            positive = proba[:, self._positive]
            other = self.classes[1 - self._positive]
            scores = positive.tolist()
            decisions = [self.positive_class if p >= self.threshold else other for p in scores]
            return Outputs(decisions=decisions, scores=scores, probabilities=probabilities, transformed=transformed)  # type: ignore[arg-type]
        best = proba.argmax(axis=1)
        decisions = [self.classes[i] for i in best.tolist()]
        scores = proba.max(axis=1).tolist()
        return Outputs(decisions=decisions, scores=scores, probabilities=probabilities, transformed=transformed)  # type: ignore[arg-type]

    def predict_rows(self, rows: Sequence[dict[str, Any]]) -> Outputs:
        return self.predict_frame(make_frame(rows, self.columns))
