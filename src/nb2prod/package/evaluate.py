"""What a model is (task, classes), whether it is fitted and fits the data, its predictions and metrics."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nb2prod.errors import InvalidInputError
from nb2prod.package.outputs import output_count

if TYPE_CHECKING:
    import pandas as pd

    from nb2prod.runtime.spec import TaskSpec

__all__ = [
    "HIGHER_IS_BETTER",
    "ModelInfo",
    "Predictions",
    "calibration_map",
    "check_features",
    "describe_model",
    "higher_is_better",
    "holdout_metrics",
    "jsonable",
    "predict_frame",
    "residual_interval",
    "settle_score_method",
]

# Direction of each metric nb2prod computes: True = higher is better.
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "accuracy": True,
    "f1": True,
    "f1_macro": True,
    "balanced_accuracy": True,
    "recall_min": True,  # multiclass: the worst class's recall (each class's is ``recall.<class>``)
    "log_loss": False,
    "r2": True,
    "rmse": False,
    "mae": False,
}


def jsonable(value: Any) -> Any:
    """numpy scalars → Python scalars (``np.str_`` → ``str``); NaN → None (JSON has no NaN)."""
    if isinstance(value, str):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


@dataclass(slots=True)
class ModelInfo:
    """What ``describe_model`` found: the task, the classes and where a classifier's score comes from."""

    task: str  # "binary" | "multiclass" | "regression"
    classes: list[Any] = field(default_factory=list)
    positive_class: Any = None
    kind: str = ""
    score_method: str | None = "predict_proba"  # predict_proba | decision_function | None; None for a regression

    def task_spec(self, threshold: float | None = None, interval: Any = None) -> TaskSpec:
        from nb2prod.runtime.spec import Task, TaskSpec

        task = Task(self.task)
        if task is Task.REGRESSION:
            return TaskSpec(task=task, interval=interval)
        return TaskSpec(task=task, classes=tuple(self.classes), positive_class=self.positive_class,
                        threshold=threshold, score_method=self.score_method)


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


#: scikit-learn's estimator types besides classifier and regressor
_OTHER_TYPES = ("outlier_detector", "clusterer", "density_estimator")


def _estimator_type(model: Any) -> str | None:
    """``classifier`` / ``regressor`` / ``outlier_detector`` / ``clusterer`` / ``density_estimator`` as
    scikit-learn sees it (tags, then ``_estimator_type``); None if it cannot say."""
    import warnings

    try:
        from sklearn.base import is_classifier, is_regressor
        from sklearn.utils import get_tags

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if is_classifier(model):
                return "classifier"
            if is_regressor(model):
                return "regressor"
            tagged = get_tags(model).estimator_type
            if tagged in _OTHER_TYPES:
                return str(tagged)
    except Exception:  # not a scikit-learn estimator (no tags): fall back to the duck-typed attribute
        pass
    kind = getattr(model, "_estimator_type", None)
    return kind if kind in ("classifier", "regressor", *_OTHER_TYPES) else None


#: an outlier detector's predict(): scikit-learn's -1 for an outlier, 1 for an inlier
OUTLIER_CLASSES = [-1, 1]


def _outlier_detector(model: Any, target: Any, kind: str) -> ModelInfo:
    """An outlier detector answers as a binary model of scikit-learn's own labels: the decision is its predict()
    (-1 outlier, 1 inlier), the score its decision_function (positive for inliers), so the positive class is 1.
    A target in other labels (0/1, True/False) cannot be scored against those decisions."""
    if target is not None:
        import numpy as np
        import pandas as pd

        # the distinct labels first (a target can be millions of rows), then each as JSON holds it
        labels = sorted({jsonable(v) for v in pd.unique(np.asarray(target).ravel())}, key=str)
        if not set(labels) <= set(OUTLIER_CLASSES):
            shown = ", ".join(map(str, labels[:6])) + (" …" if len(labels) > 6 else "")
            raise InvalidInputError(
                f"{type(model).__name__} is an outlier detector answering -1 (outlier) or 1 (inlier), "
                f"but the target's labels are {shown}",
                fix="pass a target in -1/1 (e.g. np.where(y == 1, -1, 1) if 1 marks an outlier), or --target '' to deploy without one",
            )
    return ModelInfo(task="binary", classes=list(OUTLIER_CLASSES), positive_class=1, kind=kind, score_method=_score_method(model))


def _score_method(model: Any) -> str | None:
    for method in ("predict_proba", "decision_function"):
        try:
            if callable(getattr(model, method, None)):
                return method
        except Exception:  # an available_if check that raises: the method is not there
            continue
    return None


#: live objects of these libraries answer through their own runtimes, not a scikit-learn predict()
_UNSERVABLE = {
    "torch": ("a live PyTorch module", "wrap it in a scikit-learn-API estimator (skorch's NeuralNetClassifier/Regressor) and deploy that"),
    "keras": ("a live Keras model", "wrap it in a scikit-learn-API estimator (scikeras' KerasClassifier/KerasRegressor) and deploy that"),
    "tensorflow": ("a live TensorFlow model", "wrap it in a scikit-learn-API estimator (scikeras' KerasClassifier/KerasRegressor) and deploy that"),
    "jax": ("a JAX function or array", "wrap the trained model in a class with scikit-learn's fit/predict API and deploy that"),
    "flax": ("a live Flax module", "wrap the trained model in a class with scikit-learn's fit/predict API and deploy that"),
    "transformers": ("a Hugging Face transformers model", "serve it with its own pipeline runtime, or wrap it in a class with predict(DataFrame)"),
}


def _unservable(model: Any) -> tuple[str, str] | None:
    """``(what it is, what would work)`` for a deep-learning object nb2prod cannot serve as it is."""
    for cls in type(model).__mro__:
        library = (getattr(cls, "__module__", "") or "").split(".")[0]
        if library in _UNSERVABLE:
            what, fix = _UNSERVABLE[library]
            return f"{type(model).__name__} is {what}: nb2prod serves scikit-learn-API estimators (and XGBoost, LightGBM, CatBoost)", fix
    return None


def describe_model(model: Any, target: Any = None) -> ModelInfo:
    """Refuse what is not a fitted model; say whether it classifies (binary/multiclass) or regresses.

    The estimator decides (scikit-learn's ``is_classifier``/``is_regressor``, ``_estimator_type``,
    else ``classes_``); ``target`` (``type_of_target``) refuses multi-output targets up front.
    """
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    if isinstance(model, type):
        raise InvalidInputError(f"{model.__name__} is a class, not a fitted model", fix="pass the fitted instance, e.g. model.fit(X, y)")
    refusal = _unservable(model)
    if refusal is not None:
        raise InvalidInputError(refusal[0], fix=refusal[1])
    if not callable(getattr(model, "predict", None)):
        if _estimator_type(model) == "outlier_detector":  # LocalOutlierFactor() labels only the rows it was fitted on
            raise InvalidInputError(
                f"{type(model).__name__} has no predict(): as fitted it labels only its training rows (fit_predict)",
                fix=f"fit {type(model).__name__}(novelty=True) on the training data to score new rows, and deploy that",
            )
        raise InvalidInputError(
            f"{type(model).__name__} is not a model: it has no predict() method",
            fix="pass the fitted estimator (e.g. a scikit-learn Pipeline after .fit)",
        )
    if _is_fitted_sklearn(model) is False:
        raise InvalidInputError(
            f"{type(model).__name__} is not fitted",
            fix="call .fit(X_train, y_train) on it before deploying",
        )
    if target is not None:
        import numpy as np
        from sklearn.utils.multiclass import type_of_target

        try:
            target_type = type_of_target(np.asarray(target))
        except ValueError:
            target_type = "unknown"
        if target_type.endswith("multioutput") or target_type == "multilabel-indicator":
            raise InvalidInputError(
                f"the target is {target_type} (several outputs per row): nb2prod deploys single-output models only",
                fix="deploy one model per output, or pass a one-dimensional target",
            )
    outputs = output_count(model)
    if outputs > 1:
        raise InvalidInputError(
            f"{type(model).__name__} predicts {outputs} outputs per row (multilabel or multi-output): "
            "nb2prod deploys single-output models only",
            fix="deploy one model per output (e.g. one classifier per label), each fitted on a one-dimensional target",
        )
    estimator_type = _estimator_type(model)
    if estimator_type == "outlier_detector":
        return _outlier_detector(model, target, kind)
    if estimator_type in ("clusterer", "density_estimator"):
        article = "an" if estimator_type[0] in "aeiou" else "a"
        raise InvalidInputError(
            f"{type(model).__name__} is {article} {estimator_type.replace('_', ' ')}: its predict() is a cluster number, "
            "which nb2prod cannot evaluate or monitor as a decision",
            fix="deploy a classifier of its clusters instead (e.g. KNeighborsClassifier().fit(X_train, model.labels_)), "
            "or the classifier, regressor or outlier detector the notebook fits",
        )
    classes = getattr(model, "classes_", None)
    if estimator_type == "regressor" or (estimator_type is None and classes is None):
        return ModelInfo(task="regression", kind=kind, score_method=None)
    if classes is None:
        raise InvalidInputError(
            f"{type(model).__name__} is a classifier without classes_",
            fix="fit it (model.fit(X_train, y_train)) or deploy the fitted estimator that has classes_",
        )
    values = [jsonable(c) for c in list(classes)]
    if len(values) < 2:
        raise InvalidInputError(f"{type(model).__name__} was trained on one class only ({values!r})",
                                fix="train on data with at least two classes")
    score = _score_method(model)
    if len(values) == 2:
        return ModelInfo(task="binary", classes=values, positive_class=values[1], kind=kind, score_method=score)
    return ModelInfo(task="multiclass", classes=values, kind=kind, score_method=score)


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


def settle_score_method(model: Any, frame: pd.DataFrame, info: ModelInfo) -> None:
    """Keep the first score method that really works on a few training rows (``predict_proba``, then
    ``decision_function``), else none: some estimators expose a method that raises when called."""
    if info.task == "regression":
        info.score_method = None
        return
    from nb2prod.runtime.predictor import Predictor

    head = frame.head(5)
    for method in ("predict_proba", "decision_function"):
        try:
            Predictor(model, info.task_spec(), score_method=method).predict_frame(head)
        except Exception:
            continue
        info.score_method = method
        return
    info.score_method = None


@dataclass(slots=True)
class Predictions:
    """Decisions (labels or values), positive-class scores (binary) and class probabilities."""

    decisions: list[Any]
    scores: list[float | None]
    probabilities: list[list[float]] | None = None


def predict_frame(model: Any, frame: pd.DataFrame, info: ModelInfo | TaskSpec, threshold: float | None = None) -> Predictions:
    """Decisions and scores through the service's own scoring path (:class:`nb2prod.runtime.predictor.Predictor`)."""
    from nb2prod.runtime.predictor import Predictor

    task = info.task_spec(threshold) if isinstance(info, ModelInfo) else info
    out = Predictor(model, task).predict_frame(frame)
    probabilities = None
    if out.score_source == "predict_proba" and task.classes:
        keys = [str(c) for c in task.classes]
        probabilities = [[p[k] for k in keys] for p in out.probabilities if p is not None]
    return Predictions(decisions=[jsonable(d) for d in out.decisions], scores=[jsonable(s) for s in out.scores],
                       probabilities=probabilities)


def holdout_metrics(model: Any, frame: pd.DataFrame, target: Any, info: ModelInfo, threshold: float | None = None) -> dict[str, float]:
    """Holdout metrics: binary roc_auc/accuracy/f1/log_loss; multiclass accuracy/f1_macro/balanced_accuracy,
    ``recall.<class>`` per class and ``recall_min``; regression rmse/mae/r2."""
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
            fix="pass the holdout frame and target the notebook evaluates on (e.g. --holdout X_test y_test), with the training columns",
        ) from exc
    out: dict[str, float] = {}
    if info.task == "regression":
        values = np.asarray(predicted.decisions, dtype=float)
        out["rmse"] = float(np.sqrt(m.mean_squared_error(y, values)))
        out["mae"] = float(m.mean_absolute_error(y, values))
        out["r2"] = float(m.r2_score(y, values))
    elif info.task == "binary":
        decisions = np.asarray(predicted.decisions, dtype=object)
        positive = y == info.positive_class
        if info.score_method is not None and 0 < positive.sum() < len(y):
            scores = np.asarray(predicted.scores, dtype=float)
            out["roc_auc"] = float(m.roc_auc_score(positive, scores))
            if info.score_method == "predict_proba":  # a margin is not a probability: no log loss
                out["log_loss"] = float(m.log_loss(positive, np.clip(scores, 1e-15, 1 - 1e-15), labels=[False, True]))
        out["accuracy"] = float(np.mean(decisions == y))
        out["f1"] = float(m.f1_score(positive, decisions == info.positive_class, zero_division=0))
    else:
        decisions = np.asarray(predicted.decisions, dtype=object)
        out["accuracy"] = float(np.mean(decisions == y))
        out["f1_macro"] = float(m.f1_score(y.astype(str), decisions.astype(str), average="macro", zero_division=0))
        out["balanced_accuracy"] = float(m.balanced_accuracy_score(y.astype(str), decisions.astype(str)))
        # per-class recall over the classes the model knows (a class absent from the holdout has none)
        present = [c for c in info.classes if np.any(y.astype(str) == str(c))]
        recalls = m.recall_score(y.astype(str), decisions.astype(str), labels=[str(c) for c in present], average=None, zero_division=0)
        for cls, value in zip(present, recalls, strict=True):
            out[f"recall.{cls}"] = float(value)
        if present:
            out["recall_min"] = float(np.min(recalls))
    return {k: round(v, 6) for k, v in out.items()}


def higher_is_better(metric: str) -> bool | None:
    """The direction of a metric nb2prod computes (``recall.<class>`` included); None when unknown."""
    if metric.startswith("recall.") and len(metric) > len("recall."):
        return True
    return HIGHER_IS_BETTER.get(metric)


def calibration_map(model: Any, frame: pd.DataFrame, target: Any, info: ModelInfo, threshold: float | None = None) -> dict[str, Any] | None:
    """Isotonic map from the model's holdout scores to the observed rate of the positive class.

    Binary models only. Monitoring uses it to estimate accuracy from scores alone while labels have
    not arrived (confidence-based performance estimation, as NannyML's CBPE). None when the holdout
    is too small or has one class.
    """
    import numpy as np
    from sklearn.isotonic import IsotonicRegression

    if info.task != "binary" or info.score_method is None:
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


def residual_interval(model: Any, frame: pd.DataFrame, target: Any, level: float = 0.9) -> dict[str, Any] | None:
    """A regression's answer interval: the holdout residuals' central ``level`` quantiles (``value + low`` … ``value + high``).

    Empirical (split-conformal style) and marginal: about ``level`` of rows like the holdout fall
    inside. None with fewer than 20 holdout rows.
    """
    import numpy as np

    y = np.asarray(target, dtype=float).ravel()
    if len(y) < 20:
        return None
    predicted = np.asarray(model.predict(frame), dtype=float).ravel()
    residuals = y - predicted
    residuals = residuals[np.isfinite(residuals)]
    if len(residuals) < 20:
        return None
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(residuals, [tail, 1.0 - tail])
    return {"low": round(float(low), 9), "high": round(float(high), 9), "level": level, "n": len(residuals)}
