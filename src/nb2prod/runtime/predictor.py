"""Turn a fitted model's raw output into decisions, scores and class probabilities for a task.

One call predicts a whole batch (one DataFrame): the per-call overhead of a scikit-learn
pipeline dwarfs its per-row cost, so the runtime batches concurrent requests and calls this once.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from nb2prod.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

    from nb2prod.runtime.compiled import PredictPath
    from nb2prod.runtime.spec import DeploymentSpec, FeatureSpec, TaskSpec

__all__ = ["Outputs", "Predictor", "error_text", "jsonable", "make_frame"]


def error_text(exc: BaseException) -> str:
    """How a failed model call reads in the audit log and status: ``Type: first line`` (≤ 300 chars)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def jsonable(value: Any) -> Any:
    """A numpy scalar as the plain Python value JSON and the store expect."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def make_frame(rows: Sequence[dict[str, Any]], columns: Sequence[str], features: Sequence[FeatureSpec] = ()) -> pd.DataFrame:
    """Rows as a DataFrame with the training column order (what the pipeline was fitted on).

    With ``features`` (from ``deployment.json``) each column gets back the dtype it had in
    training: ``category`` with the training categories in their order (a model such as LightGBM
    refuses others), datetimes parsed from ISO-8601, integers and floats at their width, nulls as
    NaN — so the model sees the frame the notebook gave it.
    """
    import pandas as pd

    frame = pd.DataFrame.from_records(list(rows), columns=list(columns))
    if not features:
        return frame
    # only columns JSON did not already give their training dtype (ints and floats usually match)
    current = dict(zip(frame.columns, map(str, frame.dtypes), strict=True))
    restored = {f.name: _restore(frame[f.name], f) for f in features
                if f.frame_dtype is not None and f.name in current
                and (current[f.name] != f.frame_dtype or (f.frame_dtype == "object" and frame[f.name].hasnans))}  # None → NaN
    if restored:
        frame = frame.assign(**restored) if all(isinstance(k, str) and k.isidentifier() for k in restored) else _replace(frame, restored)
    return frame


def _replace(frame: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    for name, values in columns.items():
        frame[name] = values
    return frame


def _restore(series: pd.Series, feature: FeatureSpec) -> Any:
    """One column back at its training dtype (see :func:`make_frame`)."""
    import numpy as np
    import pandas as pd

    dtype = feature.frame_dtype or "object"
    if dtype == "category":
        categories = list(feature.frame_categories or ())
        if not all(isinstance(c, str) for c in categories):  # e.g. integer categories sent as "3" or 3
            by_text = {str(c): c for c in categories}
            series = series.map(lambda v: v if v is None else by_text.get(str(v), v))
        return pd.Categorical(series, categories=categories)  # unseen → NaN
    if dtype.startswith("datetime64"):
        parsed = pd.to_datetime(series, format="ISO8601", utc=True)
        if "," not in dtype:  # a tz-naive training column: the wall time, in UTC when an offset was sent
            parsed = parsed.dt.tz_localize(None)
        return parsed.astype(dtype)
    missing = series.isna()
    if dtype in {"object", "string", "str"}:
        return series.where(~missing, np.nan) if missing.any() else series
    if missing.any():
        # a nullable numeric column holds NaN, as pandas reads a missing value
        return series.astype("float64") if dtype[:1] in {"i", "u", "f"} else series
    try:
        return series.astype(dtype)
    except (TypeError, ValueError):
        return series  # a value of another type: the model decides (and its error is recorded)


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
    """Per-row results of one batch: decision, score, class probabilities (and for a regression, intervals).

    ``score_source`` names where the scores come from: ``predict_proba``, ``decision_function``,
    ``predict`` (a regression's value) or None (no score: a classifier with neither method, a constant).
    """

    decisions: list[Any]
    scores: list[float | None]
    probabilities: list[dict[str, float] | None]
    transformed: Any = None  # a Pipeline's final-estimator input for these rows (reused by explanations)
    score_source: str | None = None
    intervals: list[list[float] | None] | None = None


class Predictor:
    """The one scoring path: a fitted model plus its task (``TaskSpec``) → decisions, scores, probabilities.

    The decision is always ``model.predict`` (a binary ``threshold`` on ``predict_proba`` is the one
    declared exception); the score comes from ``predict_proba``, else ``decision_function``. The
    deploy-time proof, the service, the fallback and the holdout evaluation all score through here.
    ``spec`` is a :class:`~nb2prod.runtime.spec.DeploymentSpec` or a bare ``TaskSpec``;
    ``score_method`` overrides the spec's for a model that scores otherwise (a baseline, a previous version).
    """

    def __init__(self, model: Any, spec: DeploymentSpec | TaskSpec, *, label: str = "model",
                 score_method: str | Literal["spec"] | None = "spec") -> None:
        self.model = model
        self.label = label
        self.task = spec.task
        self.threshold = spec.threshold
        self.interval = spec.interval
        self.columns: tuple[str, ...] = tuple(getattr(spec, "feature_names", ()))
        self.features: tuple[FeatureSpec, ...] = tuple(getattr(spec, "features", ()))
        self.classes: tuple[Any, ...] = tuple(spec.classes or ())
        self.positive_class = spec.positive_class
        self.score_method = spec.score_method if score_method == "spec" else score_method
        if not callable(getattr(model, "predict", None)):
            raise InvalidInputError(f"the {label} has no predict method", fix="deploy a fitted estimator")
        self._model_index: dict[str, int] = {}
        self._proba_index: list[int] = []
        self._flip = False
        if self.task != "regression":
            if self.score_method is not None and not callable(getattr(model, self.score_method, None)):
                raise InvalidInputError(
                    f"the {label} has no {self.score_method}, which this deployment scores with",
                    fix="re-deploy so deployment.json's score method is one the model has",
                )
            model_classes = [jsonable(c) for c in getattr(model, "classes_", self.classes)]
            missing = [c for c in self.classes if c not in model_classes]
            if missing:
                raise InvalidInputError(
                    f"the {label} does not know the classes {missing!r} declared in deployment.json",
                    fix="re-deploy so deployment.json's classes match the model's classes_",
                )
            self._proba_index = [model_classes.index(c) for c in self.classes]
            self._model_index = {_key(c): i for i, c in enumerate(model_classes)}
            self._flip = self.task == "binary" and len(model_classes) == 2 and model_classes[0] == self.positive_class
        self._decision_index = {_key(c): i for i, c in enumerate(self.classes)}
        self._positive = self.classes.index(self.positive_class) if self.task == "binary" else -1
        self._class_keys = [str(c) for c in self.classes]
        self._split = _pipeline_split(model, "predict")
        self._array_input = _fitted_on_array(model)
        self._transform: Any = None  # the compiled prefix, once select_path proved it (see use_fast_path)
        self.path: PredictPath | None = None

    def use_fast_path(self, rows: Sequence[dict[str, Any]]) -> PredictPath:
        """Serve through the compiled numpy prefix when it gives the pipeline's exact output on every row of ``rows``."""
        from nb2prod.runtime.compiled import PredictPath, select_path

        if self._split is None:
            self.path = PredictPath("sklearn", "the model is not a Pipeline with a final estimator")
            return self.path
        if self._array_input:
            self.path = PredictPath("sklearn", "the model was fitted on an array, not on named columns")
            return self.path
        frame = make_frame(rows, self.columns, self.features)
        path = select_path(self._split[0], self._split[1], frame)
        if path.transform is not None:
            plain = self.predict_frame(frame)
            self._transform = path.transform
            try:
                fast = self.predict_frame(frame)
            except Exception as exc:
                fast, path = plain, PredictPath("sklearn", f"the compiled path failed: {error_text(exc)}")
            if (fast.decisions, fast.scores) != (plain.decisions, plain.scores):
                path = PredictPath("sklearn", f"the compiled path's decisions differ on the {len(frame)} sample rows")
            if path.transform is None:
                self._transform = None
        self.path = path
        return path

    def model_input(self, frame: pd.DataFrame) -> Any:
        """What the model is given for ``frame``: a model fitted on an array gets the array, as in the notebook (a
        frame would work but make scikit-learn warn "X has feature names, but … was fitted without feature names" on
        every call, into the service log)."""
        import numpy as np

        return np.asarray(frame) if self._array_input else frame

    def predict_frame(self, frame: pd.DataFrame) -> Outputs:
        """Predict every row of ``frame``; raises whatever the model raises, or ValueError on bad output."""
        import numpy as np

        n = len(frame)
        transformed: Any = None
        estimator: Any = self.model
        data: Any = self.model_input(frame)
        if self._split is not None:  # exactly what Pipeline.predict does, keeping the final input
            prefix, estimator = self._split
            data = transformed = self._prefix(prefix, data)
        if self.task == "binary" and self.threshold is not None and self.score_method == "predict_proba":
            # the declared threshold replaces model.predict's decision, so predict would only run the model twice
            return self._from_proba(estimator, data, [None] * n, transformed)
        raw = np.asarray(estimator.predict(data))
        if raw.ndim > 1 and raw.shape[1:] == (1,) * (raw.ndim - 1):
            raw = raw.reshape(-1)
        if raw.ndim != 1 or raw.shape[0] != n:
            raise ValueError(f"{self.label} returned predictions of shape {raw.shape} for {n} rows")
        if self.task == "regression":
            values = raw.astype(float)
            if not np.all(np.isfinite(values)):
                raise ValueError(f"{self.label} returned non-finite values for {n} rows")
            listed = values.tolist()
            intervals: list[list[float] | None] | None = None if self.interval is None else [self.interval.around(v) for v in listed]
            return Outputs(decisions=listed, scores=list(listed), probabilities=[None] * n, transformed=transformed,
                           score_source="predict", intervals=intervals)
        decisions = [jsonable(v) for v in raw.tolist()]
        unknown = [d for d in decisions if _key(d) not in self._decision_index]
        if unknown:
            raise ValueError(f"{self.label} predicted {unknown[0]!r}, not one of the classes {list(self.classes)!r}")
        if self.score_method == "predict_proba":
            return self._from_proba(estimator, data, decisions, transformed)
        if self.score_method == "decision_function":
            return self._from_margin(estimator, data, decisions, transformed)
        return Outputs(decisions=decisions, scores=[None] * n, probabilities=[None] * n, transformed=transformed)

    def _from_proba(self, estimator: Any, data: Any, decisions: list[Any], transformed: Any) -> Outputs:
        import numpy as np

        n = len(decisions)
        proba = np.asarray(estimator.predict_proba(data), dtype=float)
        if proba.ndim != 2 or proba.shape[0] != n or not np.all(np.isfinite(proba)):
            raise ValueError(f"{self.label} returned probabilities of shape {proba.shape} (or non-finite) for {n} rows")
        proba = proba[:, self._proba_index]
        keys = self._class_keys
        probabilities = [dict(zip(keys, row, strict=True)) for row in proba.tolist()]
        if self.task == "binary":
            scores = proba[:, self._positive].tolist()
            if self.threshold is not None:  # the declared decision rule replaces model.predict
                other = self.classes[1 - self._positive]
                decisions = [self.positive_class if p >= self.threshold else other for p in scores]
        else:
            index = [self._decision_index[_key(d)] for d in decisions]
            scores = proba[np.arange(n), index].tolist()
        return Outputs(decisions=decisions, scores=scores, probabilities=probabilities,  # type: ignore[arg-type]
                       transformed=transformed, score_source="predict_proba")

    def _from_margin(self, estimator: Any, data: Any, decisions: list[Any], transformed: Any) -> Outputs:
        import numpy as np

        n = len(decisions)
        margin = np.asarray(estimator.decision_function(data), dtype=float)
        if margin.ndim == 2 and margin.shape[1] == 1:
            margin = margin.reshape(-1)
        width = len(self._model_index)
        if margin.shape[0] != n or (margin.ndim == 2 and margin.shape[1] != width) or not np.all(np.isfinite(margin)):
            raise ValueError(f"{self.label} returned decision values of shape {margin.shape} (or non-finite) for {n} rows")
        if margin.ndim == 1:  # binary: the margin of model.classes_[1]
            scores = (-margin if self._flip else margin).tolist()
        else:
            index = [self._model_index[_key(d)] for d in decisions]
            scores = margin[np.arange(n), index].tolist()
        return Outputs(decisions=decisions, scores=scores, probabilities=[None] * n,
                       transformed=transformed, score_source="decision_function")

    def _prefix(self, prefix: Any, data: Any) -> Any:
        if self._transform is not None:  # only for a frame (never compiled for a model fitted on an array)
            try:
                return self._transform(data)
            except Exception:  # a row the sample did not cover: the pipeline decides (and raises its own error)
                pass
        return prefix.transform(data)

    def predict_rows(self, rows: Sequence[dict[str, Any]]) -> Outputs:
        return self.predict_frame(make_frame(rows, self.columns, self.features))


def _fitted_on_array(model: Any) -> bool:
    """The model was fitted on an unnamed array: it knows how many features it takes (``n_features_in_``, set by
    every scikit-learn fit) but no column names. Models that keep names of their own (LightGBM's ``Column_0``…)
    or say nothing (a notebook's duck-typed class) are given the frame."""
    try:
        count = getattr(model, "n_features_in_", None)
        names = getattr(model, "feature_names_in_", None)
    except Exception:  # a property that raises: the model cannot say, keep the frame
        return False
    return isinstance(count, numbers.Integral) and not isinstance(count, bool) and names is None


def _key(value: Any) -> str:
    """Lookup key of a class label: ``1``, ``1.0`` and ``True`` stay apart, numpy scalars equal Python ones."""
    if isinstance(value, str):  # numpy's str_ is the same label as str
        return f"str:{str(value)!r}"
    return f"{type(value).__name__}:{value!r}" if not isinstance(value, int | float) or isinstance(value, bool) else f"num:{float(value)!r}"
