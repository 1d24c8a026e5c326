"""Per-prediction feature attributions, mapped back to the request's input columns.

Method (``explain.method`` in deployment.json; ``auto`` tries them in this order):

- ``tree`` / ``linear``: shap's TreeExplainer / LinearExplainer on the model's final estimator.
  For a scikit-learn Pipeline the earlier steps are applied first and the attributions, computed
  on the transformed columns, are mapped back to input columns: each transformed column depends
  on the input columns whose perturbation changes it (found once at start-up on the sample rows);
  its attribution is split equally among them (a one-hot column goes to its categorical input, a
  ratio of two inputs half to each). Values are in the estimator's margin units (log-odds for
  gradient boosting classifiers) and sum to the prediction minus the expected value.
- ``occlusion`` (model-agnostic, used when shap cannot explain the model): attribution of input
  ``j`` = score(x) − score(x with ``j`` set to its training median / most frequent value), in
  probability units (binary: positive class; multiclass: the predicted class; regression: value).
  One batched model call of ``n_inputs + 1`` rows per explained row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nb2prod.runtime.predictor import Predictor, jsonable, make_frame
from nb2prod.runtime.spec import DeploymentSpec, FeatureSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Explainer", "as_dense", "build_explainer"]

log = logging.getLogger("nb2prod.runtime")


class Explainer:
    """Explains batches of validated rows; ``method`` says how, ``note`` why that method."""

    method: str = ""
    note: str = ""

    def explain(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
        raise NotImplementedError

    def explain_transformed(self, matrix: Any, rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
        """Explain rows whose final-estimator input (``matrix``) the prediction already computed."""
        return self.explain(rows)


def _reference_row(spec: DeploymentSpec, sample: pd.DataFrame) -> dict[str, Any]:
    reference: dict[str, Any] = {}
    for feature in spec.features:
        column = sample[feature.name].dropna() if feature.name in sample else None
        if feature.dtype in ("int", "float") and column is not None and len(column):
            value: Any = column.median()
            reference[feature.name] = round(value) if feature.dtype == "int" else float(value)
        elif column is not None and len(column):
            reference[feature.name] = jsonable(column.mode().iloc[0])
        elif feature.categories:
            reference[feature.name] = feature.categories[0]
        elif feature.min is not None and feature.max is not None:
            reference[feature.name] = (feature.min + feature.max) / 2
        else:
            reference[feature.name] = 0 if feature.dtype in ("int", "float") else ""
    return reference


class OcclusionExplainer(Explainer):
    """Model-agnostic: the score change when each input is replaced by its reference value."""

    method = "occlusion"

    def __init__(self, predictor: Predictor, spec: DeploymentSpec, reference: dict[str, Any], note: str) -> None:
        self._predictor = predictor
        self._names = spec.feature_names
        self._reference = reference
        self._task = spec.task
        self.note = note

    def explain(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
        expanded: list[dict[str, Any]] = []
        for row in rows:
            expanded.append(row)
            for name in self._names:
                expanded.append({**row, name: self._reference[name]})
        outputs = self._predictor.predict_frame(make_frame(expanded, self._names))
        width = len(self._names) + 1
        explanations = []
        for i in range(len(rows)):
            block = slice(i * width, (i + 1) * width)
            if self._task == "multiclass":
                chosen = str(outputs.decisions[block.start])
                scores = [(p or {}).get(chosen, 0.0) for p in outputs.probabilities[block]]
            else:
                scores = [s if s is not None else 0.0 for s in outputs.scores[block]]
            base = scores[0]
            explanations.append({n: round(base - s, 6) for n, s in zip(self._names, scores[1:], strict=True)})
        return explanations


def _perturb(column: pd.Series, feature: FeatureSpec) -> pd.Series:
    if feature.dtype == "bool":
        return ~column.astype(bool)
    if feature.dtype in ("int", "float"):
        filled = column.fillna(0)
        changed = filled * 1.37 + 1
        return changed.round().astype(int) if feature.dtype == "int" else changed
    options = list(feature.categories or column.dropna().unique().tolist())
    if len(options) < 2:
        return column.map(lambda v: f"{v}__changed")
    position = {v: i for i, v in enumerate(options)}
    return column.map(lambda v: options[(position.get(v, -1) + 1) % len(options)])


class ShapExplainer(Explainer):
    """shap attributions on the final estimator, mapped back to input columns (see module docs)."""

    def __init__(
        self,
        method: str,
        transform: Callable[[pd.DataFrame], np.ndarray],
        attributions: Callable[[np.ndarray], np.ndarray],
        weights: np.ndarray,
        spec: DeploymentSpec,
        predictor: Predictor,
        model_classes: list[Any],
        pipeline: bool,
    ) -> None:
        self.method = method
        self._pipeline = pipeline
        self.note = f"shap {method} explainer on the final estimator, mapped to input columns"
        self._transform = transform
        self._attributions = attributions
        self._weights = weights
        self._names = spec.feature_names
        self._spec = spec
        self._predictor = predictor
        self._model_classes = model_classes

    def _select(self, values: np.ndarray, rows: Sequence[dict[str, Any]]) -> np.ndarray:
        import numpy as np

        spec = self._spec
        if values.ndim == 2:
            if spec.task == "binary" and self._model_classes and self._model_classes.index(spec.positive_class) == 0:
                return -values  # a single margin explains model.classes_[1]
            return values
        if spec.task == "binary":
            return values[:, :, self._model_classes.index(spec.positive_class)]
        if spec.task == "multiclass":
            decisions = self._predictor.predict_rows(rows).decisions
            index = [self._model_classes.index(d) for d in decisions]
            return values[np.arange(len(rows)), :, index]
        return values[:, :, 0]

    def explain(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
        return self._explain_matrix(self._transform(make_frame(rows, self._names)), rows)

    def explain_transformed(self, matrix: Any, rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
        if not self._pipeline:
            return self.explain(rows)
        return self._explain_matrix(as_dense(matrix), rows)

    def _explain_matrix(self, matrix: np.ndarray, rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
        values = self._select(self._attributions(matrix), rows)
        mapped = values @ self._weights
        return [{n: round(float(v), 6) for n, v in zip(self._names, row, strict=True)} for row in mapped.tolist()]


def as_dense(matrix: Any) -> np.ndarray:
    import numpy as np

    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    return np.asarray(matrix, dtype=float)


def _dependency_weights(
    transform: Callable[[pd.DataFrame], np.ndarray], spec: DeploymentSpec, sample: pd.DataFrame
) -> np.ndarray:
    """``W[k, j]`` = share of transformed column ``k``'s attribution owed to input ``j``."""
    import numpy as np

    base = transform(sample)
    weights = np.zeros((base.shape[1], len(spec.features)))
    for j, feature in enumerate(spec.features):
        changed = sample.copy()
        changed[feature.name] = _perturb(sample[feature.name], feature)
        moved = transform(changed)
        weights[:, j] = np.any(np.abs(moved - base) > 1e-12, axis=0)
    totals = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)


def _shap_explainer(method: str, predictor: Predictor, spec: DeploymentSpec, sample: pd.DataFrame) -> ShapExplainer:
    from nb2prod.adapters import shap_explain

    model = predictor.model
    steps = getattr(model, "steps", None)
    if steps and len(steps) > 1:
        prefix, final = model[:-1], steps[-1][1]

        def transform(frame: pd.DataFrame) -> np.ndarray:
            return as_dense(prefix.transform(predictor.model_input(frame)))

    else:
        final = steps[-1][1] if steps else model

        def transform(frame: pd.DataFrame) -> np.ndarray:
            return as_dense(frame)

    background = transform(sample)
    attributions = shap_explain.tree_attributions(final) if method == "tree" else shap_explain.linear_attributions(final, background)
    weights = _dependency_weights(transform, spec, sample)
    classes = [jsonable(c) for c in getattr(final, "classes_", getattr(model, "classes_", []))]
    pipeline = bool(steps and len(steps) > 1)
    explainer = ShapExplainer(method, transform, attributions, weights, spec, predictor, classes, pipeline)
    explainer.explain(sample.head(1).to_dict("records"))  # prove it works before serving with it
    return explainer


def build_explainer(predictor: Predictor, spec: DeploymentSpec, sample_rows: Sequence[dict[str, Any]]) -> Explainer | None:
    """The best explainer ``spec.explain_method`` allows for this model; ``None`` when disabled."""
    if spec.explain_method == "none":
        return None
    sample = make_frame(list(sample_rows)[:200], spec.feature_names)
    reference = _reference_row(spec, sample)
    if sample.empty:
        sample = make_frame([reference], spec.feature_names)
    tried: list[str] = []
    candidates = {"auto": ("tree", "linear"), "tree": ("tree",), "linear": ("linear",)}.get(spec.explain_method, ())
    for method in candidates:
        try:
            return _shap_explainer(method, predictor, spec, sample)
        except Exception as exc:
            tried.append(f"{method}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    note = "model-agnostic occlusion against training medians/modes"
    if tried:
        note += f" (shap unavailable — {'; '.join(tried)})"
        log.info("explanations: %s", note)
    return OcclusionExplainer(predictor, spec, reference, note)
