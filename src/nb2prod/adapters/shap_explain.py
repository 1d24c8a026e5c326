"""The only module importing shap: exact attributions for tree and linear estimators.

Each builder returns a function ``X -> array`` of shape ``(n_rows, n_features)`` or
``(n_rows, n_features, n_outputs)`` (one slice per class for multi-output models), or raises
when shap cannot explain that estimator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Attributions", "linear_attributions", "tree_attributions"]

Attributions = Callable[[np.ndarray], np.ndarray]


def _normalise(values: Any) -> np.ndarray:
    if isinstance(values, list):  # older shap: one array per class
        return np.stack([np.asarray(v) for v in values], axis=-1)
    return np.asarray(values)


def tree_attributions(estimator: Any) -> Attributions:
    """shap's TreeExplainer (path-dependent, no background data) for a fitted tree ensemble."""
    import shap

    explainer = shap.TreeExplainer(estimator)

    def attributions(matrix: np.ndarray) -> np.ndarray:
        return _normalise(explainer.shap_values(matrix, check_additivity=False))

    return attributions


def linear_attributions(estimator: Any, background: np.ndarray) -> Attributions:
    """shap's LinearExplainer for a fitted linear model, against ``background`` (transformed rows)."""
    import shap

    explainer = shap.LinearExplainer(estimator, background)

    def attributions(matrix: np.ndarray) -> np.ndarray:
        return _normalise(explainer.shap_values(matrix))

    return attributions
