"""How many outputs per row a fitted estimator predicts: nb2prod serves single-output models, and a
multilabel or multi-output one is refused at deploy (``describe_model``) whether or not a target is passed."""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["output_count"]


def _is_regressor(model: Any) -> bool:
    try:
        from sklearn.base import is_regressor

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(is_regressor(model))
    except Exception:  # an object sklearn cannot inspect is not a linear regressor on several targets
        return False


def output_count(model: Any) -> int:
    """Outputs per row (1 unless the estimator says otherwise), looking through pipelines and searches."""
    final = model
    for _ in range(8):  # a Pipeline's last step, a search's best estimator: the one that predicts
        inner = getattr(final, "best_estimator_", None)
        if inner is None and isinstance(getattr(final, "steps", None), list) and final.steps:
            inner = final.steps[-1][1]
        if inner is None or inner is final:
            break
        final = inner
    if type(final).__module__.startswith("sklearn.multioutput"):  # MultiOutputClassifier/Regressor, ClassifierChain, RegressorChain
        estimators = getattr(final, "estimators_", None)
        return len(estimators) if estimators is not None else 2
    n_outputs = getattr(final, "n_outputs_", None)  # trees, forests, neural networks
    if isinstance(n_outputs, int):
        return n_outputs
    classes = getattr(final, "classes_", None)
    if isinstance(classes, list) and classes and hasattr(classes[0], "__len__") and not isinstance(classes[0], str):
        return len(classes)  # one array of classes per output
    if getattr(final, "outputs_2d_", False):  # nearest neighbours fitted on a 2-D target
        return 2
    shape: tuple[int, ...] = getattr(getattr(final, "coef_", None), "shape", ())
    if len(shape) == 2 and shape[0] > 1 and _is_regressor(final):
        return int(shape[0])  # a linear regressor fitted on several target columns
    return 1
