"""The runtime's view of ``deployment.json``: a typed, validated deployment spec.

Every knob the guarded runtime honours is read here, once, with a clear error naming the field
when the file is missing or malformed (see docs/design.md, "Deployment folder contract").
"""

from __future__ import annotations

import enum
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError, NotFoundError

__all__ = [
    "DTYPES",
    "GUARD_POLICIES",
    "SCORE_METHODS",
    "STRATEGIES",
    "DeploymentSpec",
    "FeatureSpec",
    "GuardSpec",
    "IntervalSpec",
    "Task",
    "TaskSpec",
    "load_spec",
    "write_spec",
]

#: accepted spellings of a feature dtype → the runtime's canonical dtype
DTYPES: dict[str, str] = {
    "int": "int", "integer": "int", "int32": "int", "int64": "int",
    "float": "float", "number": "float", "float32": "float", "float64": "float", "double": "float",
    "bool": "bool", "boolean": "bool",
    "category": "category", "categorical": "category",
    "str": "str", "string": "str", "object": "str", "text": "str", "datetime": "str",
}  # fmt: skip



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
#: fallback strategies as the runtime names them; ``previous`` (what %deploy writes) means ``previous_version``
STRATEGIES = ("baseline", "constant", "previous_version", "none")
_STRATEGY_ALIASES = {"previous": "previous_version"}
EXPLAIN_METHODS = ("auto", "tree", "linear", "occlusion", "none")


def _bad(field_name: str, problem: str, folder: Path) -> InvalidInputError:
    return InvalidInputError(
        f"{folder / 'deployment.json'}: {field_name} {problem}",
        fix="re-run %deploy to regenerate the deployment folder, or correct the field by hand",
    )


def _number(raw: Mapping[str, Any], key: str, default: float, folder: Path, *, low: float, high: float) -> float:
    value = raw.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or not (low <= float(value) <= high):
        raise _bad(key, f"must be a number in [{low}, {high}], got {value!r}", folder)
    return float(value)


GUARD_POLICIES = ("warn", "fallback")
GUARD_REJECTS = ("missing", "unseen")


@dataclass(frozen=True, slots=True)
class GuardSpec:
    """How one feature's guardrail judges a value (``features[i].guard`` in ``deployment.json``).

    ``low``/``high``: the accepted range (the training range plus a margin); ``used``: False when
    the model's answers do not depend on the feature (then only ``rejects`` applies); ``policy``:
    ``warn`` answers with the model and flags the row, ``fallback`` answers from the fallback;
    ``rejects``: violation kinds the model cannot take (``missing``, ``unseen``), always sent to
    the fallback. A folder without ``guard`` (written before these existed) guards the training
    range exactly with policy ``fallback``.
    """

    low: float | None = None
    high: float | None = None
    used: bool = True
    policy: str = "fallback"
    rejects: tuple[str, ...] = ()
    probed: bool = False  # written by a deploy that probed the model (False: an older folder's defaults)

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "used": self.used, "policy": self.policy, "rejects": list(self.rejects)}

    @classmethod
    def parse(cls, raw: Any, where: str, folder: Path, *, low: float | None, high: float | None) -> GuardSpec:
        if raw is None:
            return cls(low=low, high=high)
        if not isinstance(raw, Mapping):
            raise _bad(where, "must be an object {low, high, used, policy, rejects}", folder)
        bounds: dict[str, float | None] = {}
        for key in ("low", "high"):
            bound = raw.get(key)
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float) or math.isnan(bound)):
                raise _bad(f"{where}.{key}", f"must be a number, got {bound!r}", folder)
            bounds[key] = None if bound is None else float(bound)
        policy = raw.get("policy", "warn")
        if policy not in GUARD_POLICIES:
            raise _bad(f"{where}.policy", f"{policy!r} is not one of {', '.join(GUARD_POLICIES)}", folder)
        rejects = raw.get("rejects") or []
        if not isinstance(rejects, list | tuple) or any(r not in GUARD_REJECTS for r in rejects):
            raise _bad(f"{where}.rejects", f"must be a list of {', '.join(GUARD_REJECTS)}, got {rejects!r}", folder)
        used = raw.get("used", True)
        if not isinstance(used, bool):
            raise _bad(f"{where}.used", f"must be true or false, got {used!r}", folder)
        return cls(low=bounds["low"], high=bounds["high"], used=used, policy=policy, rejects=tuple(rejects), probed=True)


def _frame_dtype(raw: Any, where: str, folder: Path) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw:
        raise _bad(where, f"must be a pandas dtype name, got {raw!r}", folder)
    if raw in {"category", "object", "string", "str"}:
        return raw
    import pandas as pd

    try:
        pd.api.types.pandas_dtype(raw)
    except TypeError:
        raise _bad(where, f"{raw!r} is not a pandas dtype", folder) from None
    return raw


def _frame_categories(raw: Mapping[str, Any], where: str, folder: Path) -> tuple[Any, ...] | None:
    categories = raw.get("frame_categories")
    if raw.get("frame_dtype") != "category":
        if categories is not None:
            raise _bad(f"{where}.frame_categories", "applies to frame_dtype 'category' only", folder)
        return None
    if not isinstance(categories, list):
        raise _bad(f"{where}.frame_categories", "must list the training categories of a 'category' column", folder)
    return tuple(categories)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One input column: canonical dtype, nullability, its training range or categories, and its guardrail."""

    name: str
    dtype: str
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    categories: tuple[Any, ...] | None = None
    guard: GuardSpec = field(default_factory=GuardSpec)
    frame_dtype: str | None = None  # the pandas dtype in training (None: as JSON gives it)
    frame_categories: tuple[Any, ...] | None = None  # a ``category`` column's categories, in order

    @property
    def accepts_missing(self) -> bool:
        """A request may send null: training had missing values, or the deploy found the model takes them."""
        return self.nullable or (self.guard.probed and "missing" not in self.guard.rejects)

    @classmethod
    def parse(cls, raw: Any, folder: Path, index: int) -> FeatureSpec:
        where = f"features[{index}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise _bad(where, "needs a non-empty string 'name'", folder)
        dtype = DTYPES.get(str(raw.get("dtype", "")).lower())
        if dtype is None:
            raise _bad(f"{where}.dtype", f"{raw.get('dtype')!r} is not one of {', '.join(sorted(set(DTYPES)))}", folder)
        low, high = raw.get("min"), raw.get("max")
        for key, bound in (("min", low), ("max", high)):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float) or math.isnan(bound)):
                raise _bad(f"{where}.{key}", f"must be a number, got {bound!r}", folder)
        categories = raw.get("categories")
        if categories is not None and not isinstance(categories, list | tuple):
            raise _bad(f"{where}.categories", "must be a list", folder)
        low = None if low is None else float(low)
        high = None if high is None else float(high)
        return cls(
            name=raw["name"],
            dtype=dtype,
            nullable=bool(raw.get("nullable", False)),
            min=low,
            max=high,
            categories=None if categories is None else tuple(categories),
            guard=GuardSpec.parse(raw.get("guard"), f"{where}.guard", folder, low=low, high=high),
            frame_dtype=_frame_dtype(raw.get("frame_dtype"), f"{where}.frame_dtype", folder),
            frame_categories=_frame_categories(raw, where, folder),
        )


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
            raise _bad("interval", "must be an object {low, high, level, n}", folder)
        low, high = raw.get("low"), raw.get("high")
        for key, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise _bad(f"interval.{key}", f"must be a finite number, got {value!r}", folder)
        if low > high:  # type: ignore[operator]
            raise _bad("interval", f"low {low!r} is above high {high!r}", folder)
        level = _number(raw, "level", 0.9, folder, low=0.0, high=1.0)
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
            raise _bad("task", f"{raw.get('task')!r} is not one of {', '.join(TASKS)}", folder) from None
        classes = raw.get("classes")
        if task is Task.REGRESSION:
            if classes not in (None, []):
                raise _bad("classes", f"must be absent for a regression task, got {classes!r}", folder)
            for key in ("threshold", "positive_class"):
                if raw.get(key) is not None:
                    raise _bad(key, "does not apply to a regression task (leave it out)", folder)
            if raw.get("score") not in (None, "predict"):
                raise _bad("score", f"must be absent for a regression task, got {raw.get('score')!r}", folder)
            return cls(task=task, interval=IntervalSpec.parse(raw.get("interval"), folder))
        if not isinstance(classes, list) or not classes:
            raise _bad("classes", f"must be a non-empty list for a {task} task, got {classes!r}", folder)
        if len(set(map(repr, classes))) != len(classes):
            raise _bad("classes", f"has duplicates: {classes!r}", folder)
        positive = raw.get("positive_class")
        if task is Task.BINARY:
            if len(classes) != 2:
                raise _bad("classes", f"must have two entries for a binary task, got {classes!r}", folder)
            if positive is None:
                positive = classes[-1]
            if positive not in classes:
                raise _bad("positive_class", f"{positive!r} is not one of {classes!r}", folder)
        # folders written before the score method was recorded scored with predict_proba
        score = raw.get("score", "predict_proba")
        if score is not None and score not in SCORE_METHODS:
            raise _bad("score", f"{score!r} is not one of {', '.join(SCORE_METHODS)} (or null: no score)", folder)
        threshold = None if raw.get("threshold") is None else _number(raw, "threshold", 0.5, folder, low=0.0, high=1.0)
        if threshold is not None and (task is not Task.BINARY or score != "predict_proba"):
            raise _bad("threshold", f"applies to a binary task scored by predict_proba only (this one: {task}, score {score})", folder)
        if raw.get("interval") is not None:
            raise _bad("interval", "applies to a regression task only", folder)
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


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    """A deployment folder's runtime configuration (``deployment.json``), validated."""

    folder: Path
    name: str
    version_id: str
    task: Task
    features: tuple[FeatureSpec, ...]
    classes: tuple[Any, ...] | None = None
    positive_class: Any = None
    threshold: float | None = None  # None: the decision is model.predict
    score_method: str | None = None  # predict_proba | decision_function | None (regression, or no score)
    interval: IntervalSpec | None = None  # regression: holdout residual quantiles
    protected: tuple[str, ...] = ()
    max_violations: int = 0
    fallback_strategy: str = "constant"
    fallback_constant: Any = None
    previous_version: str | None = None
    timeout_ms: float = 250.0
    explain_method: str = "auto"
    explain_sample_rate: float = 0.05
    max_error_rate: float = 0.2
    health_window: int = 200
    uncertainty_margin: float = 0.1
    max_batch: int = 64
    max_queue_ms: float = 1000.0  # a request queued longer than this is shed (HTTP 503), not answered late
    max_rows: int = 1000
    max_body_bytes: int = 2 * 1024 * 1024
    workers: int = 1
    store_url: str | None = None
    model_file: str = "model/model.pkl"
    baseline_file: str = "model/baseline.pkl"
    sample_file: str = "sample.json"
    reference_file: str = "reference.json"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def task_spec(self) -> TaskSpec:
        return TaskSpec(task=Task(self.task), classes=self.classes, positive_class=self.positive_class,
                        threshold=self.threshold, score_method=self.score_method, interval=self.interval)

    def resolved_store_url(self, env: Mapping[str, str] | None = None) -> str:
        """``NB2PROD_STORE_URL`` from the environment first, else ``store_url``, else SQLite in the folder."""
        env = os.environ if env is None else env
        return env.get("NB2PROD_STORE_URL") or self.store_url or f"sqlite:///{self.folder / 'audit.db'}"

    def path(self, relative: str) -> Path:
        return self.folder / relative

    @classmethod
    def parse(cls, raw: Mapping[str, Any], folder: Path) -> DeploymentSpec:
        for key in ("name", "version_id"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise _bad(key, "must be a non-empty string", folder)
        scoring = TaskSpec.parse(raw, folder)
        features_raw = raw.get("features")
        if not isinstance(features_raw, list) or not features_raw:
            raise _bad("features", "must be a non-empty list of {name, dtype, ...}", folder)
        features = tuple(FeatureSpec.parse(f, folder, i) for i, f in enumerate(features_raw))
        names = [f.name for f in features]
        if len(set(names)) != len(names):
            raise _bad("features", "has duplicate names", folder)
        guardrails = raw.get("guardrails") or {}
        fallback = raw.get("fallback") or {}
        strategy = _STRATEGY_ALIASES.get(fallback.get("strategy", "constant"), fallback.get("strategy", "constant"))
        if strategy not in STRATEGIES:
            raise _bad("fallback.strategy", f"{strategy!r} is not one of {', '.join(STRATEGIES)}", folder)
        if strategy == "previous_version" and not fallback.get("previous_version"):
            raise _bad("fallback.previous_version", "must name the version to fall back to", folder)
        explain = raw.get("explain") or {}
        method = explain.get("method", "auto") or "none"
        if method not in EXPLAIN_METHODS:
            raise _bad("explain.method", f"{method!r} is not one of {', '.join(EXPLAIN_METHODS)}", folder)
        health = raw.get("health") or {}
        uncertainty = raw.get("uncertainty") or {}
        serving = raw.get("serving") or {}
        max_violations = guardrails.get("max_violations", 0)
        if isinstance(max_violations, bool) or not isinstance(max_violations, int) or max_violations < 0:
            raise _bad("guardrails.max_violations", f"must be a non-negative integer, got {max_violations!r}", folder)
        return cls(
            folder=folder,
            name=raw["name"],
            version_id=raw["version_id"],
            task=scoring.task,
            features=features,
            classes=scoring.classes,
            positive_class=scoring.positive_class,
            threshold=scoring.threshold,
            score_method=scoring.score_method,
            interval=scoring.interval,
            protected=tuple(raw.get("protected") or ()),
            max_violations=max_violations,
            fallback_strategy=strategy,
            fallback_constant=fallback.get("constant"),
            previous_version=fallback.get("previous_version"),
            timeout_ms=_number(raw, "timeout_ms", 250.0, folder, low=1.0, high=600_000.0),
            explain_method=method,
            explain_sample_rate=_number(explain, "sample_rate", 0.05, folder, low=0.0, high=1.0),
            max_error_rate=_number(health, "max_error_rate", 0.2, folder, low=0.0, high=1.0),
            health_window=int(_number(health, "window", 200, folder, low=1, high=1_000_000)),
            uncertainty_margin=_number(uncertainty, "margin", 0.1, folder, low=0.0, high=1.0),
            max_batch=int(_number(serving, "max_batch", 64, folder, low=1, high=100_000)),
            max_queue_ms=_number(serving, "max_queue_ms", 1000.0, folder, low=1.0, high=600_000.0),
            max_rows=int(_number(serving, "max_rows", 1000, folder, low=1, high=1_000_000)),
            max_body_bytes=int(_number(serving, "max_body_bytes", 2 * 1024 * 1024, folder, low=1024, high=1 << 31)),
            workers=int(_number(serving, "workers", 1, folder, low=1, high=256)),
            store_url=raw.get("store_url") or None,
            model_file=raw.get("model_file") or "model/model.pkl",
            baseline_file=raw.get("baseline_file") or "model/baseline.pkl",
            sample_file=raw.get("sample_file") or "sample.json",
            reference_file=raw.get("reference_file") or "reference.json",
            raw=dict(raw),
        )


def load_spec(folder: str | Path) -> DeploymentSpec:
    """Read and validate ``<folder>/deployment.json``."""
    folder = Path(folder).expanduser().resolve()
    path = folder / "deployment.json"
    if not path.is_file():
        raise NotFoundError(f"no deployment.json in {folder}", fix="point at a deployment folder written by %deploy")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path} is not readable JSON: {exc}", fix="re-run %deploy to regenerate it") from exc
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{path} must hold a JSON object", fix="re-run %deploy to regenerate it")
    return DeploymentSpec.parse(raw, folder)


def write_spec(folder: str | Path, raw: Mapping[str, Any]) -> DeploymentSpec:
    """Validate ``raw`` as the runtime will read it, then write ``<folder>/deployment.json``.

    The writer (``%deploy``) goes through the same parser as every reader, so a value it writes
    can never be refused by the service, the proof, ``rebuild`` or monitoring.
    """
    folder = Path(folder).expanduser().resolve()
    spec = DeploymentSpec.parse(raw, folder)
    text = json.dumps(dict(raw), indent=2, allow_nan=False)
    (folder / "deployment.json").write_text(text, encoding="utf-8")
    return spec
