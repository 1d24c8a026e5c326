"""What a model is (task, classes), whether it is fitted and fits the data, its predictions and metrics."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nb2prod.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HIGHER_IS_BETTER",
    "ModelInfo",
    "Predictions",
    "calibration_map",
    "check_features",
    "describe_model",
    "holdout_metrics",
    "jsonable",
    "predict_frame",
]

# Direction of each metric nb2prod computes: True = higher is better.
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "accuracy": True,
    "f1": True,
    "f1_macro": True,
    "balanced_accuracy": True,
    "log_loss": False,
    "r2": True,
    "rmse": False,
    "mae": False,
}


def jsonable(value: Any) -> Any:
    """numpy scalars → Python scalars; NaN → None (JSON has no NaN)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


@dataclass(slots=True)
class ModelInfo:
    task: str  # "binary" | "multiclass" | "regression"
    classes: list[Any] = field(default_factory=list)
    positive_class: Any = None
    kind: str = ""


def _is_fitted_sklearn(model: Any) -> bool | None:
    try:
        from sklearn.base import BaseEstimator
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return None
    if not isinstance(model, BaseEstimator):
        return None
    try:
        check_is_fitted(model)
    except NotFittedError:
        return False
    except (TypeError, ValueError):
        return None
    return True


def describe_model(model: Any) -> ModelInfo:
    """Refuse what is not a fitted model; say whether it classifies (binary/multiclass) or regresses."""
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    if isinstance(model, type):
        raise InvalidInputError(f"{model.__name__} is a class, not a fitted model", fix="pass the fitted instance, e.g. model.fit(X, y)")
    if not callable(getattr(model, "predict", None)):
        raise InvalidInputError(
            f"{type(model).__name__} is not a model: it has no predict() method",
            fix="pass the fitted estimator (e.g. a scikit-learn Pipeline after .fit)",
        )
    if _is_fitted_sklearn(model) is False:
        raise InvalidInputError(
            f"{type(model).__name__} is not fitted",
            fix="call .fit(X_train, y_train) on it before deploying",
        )
    classes = getattr(model, "classes_", None)
    if classes is not None and callable(getattr(model, "predict_proba", None)):
        values = [jsonable(c) for c in list(classes)]
        if len(values) == 2:
            return ModelInfo(task="binary", classes=values, positive_class=values[1], kind=kind)
        return ModelInfo(task="multiclass", classes=values, kind=kind)
    if classes is not None:
        return ModelInfo(task="multiclass", classes=[jsonable(c) for c in list(classes)], kind=kind)
    return ModelInfo(task="regression", kind=kind)


def check_features(model: Any, frame: pd.DataFrame) -> None:
    """The data must carry the columns the model was fitted on, and the model must predict on it."""
    expected = getattr(model, "feature_names_in_", None)
    if expected is not None:
        missing = [str(c) for c in expected if c not in frame.columns]
        if missing:
            raise InvalidInputError(
                f"the data does not match the model's features: missing {', '.join(missing[:8])}"
                + (f" and {len(missing) - 8} more" if len(missing) > 8 else ""),
                fix="pass the same frame the model was trained on (e.g. --data X_train)",
            )
    try:
        model.predict(frame.head(5))
    except Exception as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "not fitted" in detail.lower() or type(exc).__name__ == "NotFittedError":
            raise InvalidInputError(f"{type(model).__name__} is not fitted", fix="call .fit(X_train, y_train) before deploying") from exc
        raise InvalidInputError(
            f"the model cannot predict on the data: {type(exc).__name__}: {detail}"[:300],
            fix="pass the frame the model was trained on, with the same columns and types",
        ) from exc


@dataclass(slots=True)
class Predictions:
    """Decisions (labels or values), positive-class scores (binary) and class probabilities."""

    decisions: list[Any]
    scores: list[float | None]
    probabilities: list[list[float]] | None = None


def predict_frame(model: Any, frame: pd.DataFrame, info: ModelInfo, threshold: float = 0.5) -> Predictions:
    import numpy as np

    if info.task == "regression":
        values = np.asarray(model.predict(frame), dtype=float).ravel()
        return Predictions(decisions=[jsonable(v) for v in values], scores=[jsonable(v) for v in values])
    proba = np.asarray(model.predict_proba(frame), dtype=float)
    if info.task == "binary":
        scores = proba[:, 1]
        decisions = [info.classes[1] if s >= threshold else info.classes[0] for s in scores]
        return Predictions(decisions=decisions, scores=[jsonable(s) for s in scores], probabilities=proba.tolist())
    best = proba.argmax(axis=1)
    return Predictions(
        decisions=[info.classes[i] for i in best],
        scores=[jsonable(proba[r, i]) for r, i in enumerate(best)],
        probabilities=proba.tolist(),
    )


def holdout_metrics(model: Any, frame: pd.DataFrame, target: Any, info: ModelInfo, threshold: float = 0.5) -> dict[str, float]:
    """Holdout metrics: binary roc_auc/accuracy/f1/log_loss, multiclass accuracy/f1_macro, regression rmse/mae/r2."""
    import numpy as np
    from sklearn import metrics as m

    y = np.asarray(target).ravel()
    if len(y) != len(frame):
        raise InvalidInputError(
            f"the holdout target has {len(y)} values for {len(frame)} rows", fix="pass matching --holdout X_test y_test"
        )
    try:
        predicted = predict_frame(model, frame, info, threshold)
    except Exception as exc:
        raise InvalidInputError(
            f"the model cannot predict on the holdout data: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300],
            fix="pass a holdout frame with the training columns",
        ) from exc
    out: dict[str, float] = {}
    if info.task == "regression":
        values = np.asarray(predicted.decisions, dtype=float)
        out["rmse"] = float(np.sqrt(m.mean_squared_error(y, values)))
        out["mae"] = float(m.mean_absolute_error(y, values))
        out["r2"] = float(m.r2_score(y, values))
    elif info.task == "binary":
        scores = np.asarray(predicted.scores, dtype=float)
        decisions = np.asarray(predicted.decisions, dtype=object)
        positive = y == info.positive_class
        if 0 < positive.sum() < len(y):
            out["roc_auc"] = float(m.roc_auc_score(positive, scores))
            out["log_loss"] = float(m.log_loss(positive, np.clip(scores, 1e-15, 1 - 1e-15)))
        out["accuracy"] = float(np.mean(decisions == y))
        out["f1"] = float(m.f1_score(positive, decisions == info.positive_class, zero_division=0))
    else:
        decisions = np.asarray(predicted.decisions, dtype=object)
        out["accuracy"] = float(np.mean(decisions == y))
        out["f1_macro"] = float(m.f1_score(y.astype(str), decisions.astype(str), average="macro", zero_division=0))
    return {k: round(v, 6) for k, v in out.items()}


def calibration_map(model: Any, frame: pd.DataFrame, target: Any, info: ModelInfo, threshold: float = 0.5) -> dict[str, Any] | None:
    """Isotonic map from the model's holdout scores to the observed rate of the positive class.

    Binary models only. Monitoring uses it to estimate accuracy from scores alone while labels have
    not arrived (confidence-based performance estimation, as NannyML's CBPE). None when the holdout
    is too small or has one class.
    """
    import numpy as np
    from sklearn.isotonic import IsotonicRegression

    if info.task != "binary":
        return None
    y = np.asarray(target).ravel()
    positive = (y == info.positive_class).astype(float)
    if len(y) < 50 or positive.min() == positive.max():
        return None
    scores = np.asarray(predict_frame(model, frame, info, threshold).scores, dtype=float)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, positive)
    xs, ys = np.asarray(iso.X_thresholds_, dtype=float), np.asarray(iso.y_thresholds_, dtype=float)
    if len(xs) > 400:  # the map is a step function; 400 knots keep deployment.json small
        keep = np.unique(np.linspace(0, len(xs) - 1, 400).round().astype(int))
        xs, ys = xs[keep], ys[keep]
    return {"scores": [round(float(v), 6) for v in xs], "rates": [round(float(v), 6) for v in ys], "n": len(y)}
