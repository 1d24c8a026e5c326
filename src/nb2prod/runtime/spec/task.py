"""The task fields of ``deployment.json``: what the model predicts and where its decision and score come from."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod.runtime.spec.fields import bad_field, number_field

__all__ = ["SCORE_METHODS", "TASKS", "IntervalSpec", "Task", "TaskSpec"]


class Task(enum.StrEnum):
    """What the model predicts; equal to its string (``spec.task == "regression"``)."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION


TASKS = tuple(t.value for t in Task)
#: where a classifier's score comes from; the decision is always ``model.predict`` (unless a threshold is set)
SCORE_METHODS = ("predict_proba", "decision_function")


@dataclass(frozen=True, slots=True)
class IntervalSpec:
    """A regression answer's interval: ``value + low`` to ``value + high`` (holdout residual quantiles)."""

    low: float
    high: float
    level: float = 0.9
    n: int = 0

    def around(self, value: float) -> list[float]:
        return [value + self.low, value + self.high]

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "level": self.level, "n": self.n}

    @classmethod
    def parse(cls, raw: Any, folder: Path) -> IntervalSpec | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise bad_field("interval", "must be an object {low, high, level, n}", folder)
        low, high = raw.get("low"), raw.get("high")
        for key, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise bad_field(f"interval.{key}", f"must be a finite number, got {value!r}", folder)
        if low > high:  # type: ignore[operator]
            raise bad_field("interval", f"low {low!r} is above high {high!r}", folder)
        level = number_field(raw, "level", 0.9, folder, low=0.0, high=1.0)
        n = raw.get("n", 0)
        return cls(low=float(low), high=float(high), level=level, n=int(n) if isinstance(n, int) else 0)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What a model's raw outputs mean: the task, the classes, and where decision and score come from.

    The decision is ``model.predict`` — unless ``threshold`` is set (binary, ``predict_proba``
    scores only), then it is ``P(positive) >= threshold``. The score is the positive-class
    probability (binary) or the decision's probability (multiclass) with ``predict_proba``, the
    margin with ``decision_function``, the predicted value for a regression, and absent when the
    classifier has neither (``score_method`` None).
    """

    task: Task
    classes: tuple[Any, ...] | None = None
    positive_class: Any = None
    threshold: float | None = None
    score_method: str | None = None
    interval: IntervalSpec | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any], folder: Path) -> TaskSpec:
        """The task fields of a ``deployment.json`` (``task``, ``classes``, ``positive_class``, ``threshold``, ``score``, ``interval``)."""
        try:
            task = Task(raw.get("task", "binary"))
        except ValueError:
            raise bad_field("task", f"{raw.get('task')!r} is not one of {', '.join(TASKS)}", folder) from None
        classes = raw.get("classes")
        if task is Task.REGRESSION:
            if classes not in (None, []):
                raise bad_field("classes", f"must be absent for a regression task, got {classes!r}", folder)
            for key in ("threshold", "positive_class"):
                if raw.get(key) is not None:
                    raise bad_field(key, "does not apply to a regression task (leave it out)", folder)
            if raw.get("score") not in (None, "predict"):
                raise bad_field("score", f"must be absent for a regression task, got {raw.get('score')!r}", folder)
            return cls(task=task, interval=IntervalSpec.parse(raw.get("interval"), folder))
        if not isinstance(classes, list) or not classes:
            raise bad_field("classes", f"must be a non-empty list for a {task} task, got {classes!r}", folder)
        if len(set(map(repr, classes))) != len(classes):
            raise bad_field("classes", f"has duplicates: {classes!r}", folder)
        positive = raw.get("positive_class")
        if task is Task.BINARY:
            if len(classes) != 2:
                raise bad_field("classes", f"must have two entries for a binary task, got {classes!r}", folder)
            if positive is None:
                positive = classes[-1]
            if positive not in classes:
                raise bad_field("positive_class", f"{positive!r} is not one of {classes!r}", folder)
        # folders written before the score method was recorded scored with predict_proba
        score = raw.get("score", "predict_proba")
        if score is not None and score not in SCORE_METHODS:
            raise bad_field("score", f"{score!r} is not one of {', '.join(SCORE_METHODS)} (or null: no score)", folder)
        threshold = None if raw.get("threshold") is None else number_field(raw, "threshold", 0.5, folder, low=0.0, high=1.0)
        if threshold is not None and (task is not Task.BINARY or score != "predict_proba"):
            raise bad_field("threshold", f"applies to a binary task scored by predict_proba only (this one: {task}, score {score})", folder)
        if raw.get("interval") is not None:
            raise bad_field("interval", "applies to a regression task only", folder)
        return cls(task=task, classes=tuple(classes), positive_class=positive, threshold=threshold, score_method=score)

    def to_dict(self) -> dict[str, Any]:
        """The same fields as ``deployment.json`` holds them (what :meth:`parse` reads back)."""
        return {
            "task": self.task.value,
            "classes": None if self.classes is None else list(self.classes),
            "positive_class": self.positive_class,
            "threshold": self.threshold,
            "score": self.score_method,
            "interval": None if self.interval is None else self.interval.to_dict(),
        }
