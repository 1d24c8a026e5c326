"""The only module importing lightgbm: save a LightGBM model in LightGBM's own text format.

The text model keeps the trees, feature names and a ``category`` column's categories
(``pandas_categorical``); the scikit-learn wrapper has no loader for it, so :class:`LightGBMModel`
answers from the loaded ``Booster`` exactly as ``LGBMClassifier``/``LGBMRegressor`` do
(``predict`` = the class of the highest probability, or the raw value for a regression).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FILENAME", "LightGBMModel", "handles", "load", "save"]

FILENAME = "model.txt"


def handles(model: Any) -> bool:
    """Exactly a fitted ``LGBMClassifier`` / ``LGBMRegressor`` (subclasses and custom objectives keep the pickle)."""
    import lightgbm

    if type(model) not in (lightgbm.LGBMClassifier, lightgbm.LGBMRegressor) or callable(getattr(model, "objective", None)):
        return False
    return getattr(model, "fitted_", False) is True


class LightGBMModel:
    """A LightGBM ``Booster`` behind the scikit-learn predict API of the wrapper it was saved from."""

    def __init__(self, booster: Any, kind: str, classes: Sequence[Any] = ()) -> None:
        self.booster_ = booster
        self._estimator_type = kind
        self.feature_names_in_ = np.asarray(booster.feature_name(), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        if kind == "classifier":
            self.classes_ = np.asarray(list(classes))

    def predict_proba(self, data: Any) -> np.ndarray:
        if self._estimator_type != "classifier":
            raise AttributeError("a regressor has no predict_proba")
        raw = np.asarray(self.booster_.predict(data))
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, data: Any) -> np.ndarray:
        if self._estimator_type == "classifier":
            return self.classes_[np.argmax(self.predict_proba(data), axis=1)]
        return np.asarray(self.booster_.predict(data))


def save(model: Any, directory: Path) -> tuple[str, dict[str, Any]]:
    import lightgbm

    model.booster_.save_model(str(directory / FILENAME))
    kind = "classifier" if isinstance(model, lightgbm.LGBMClassifier) else "regressor"
    classes = [c.item() if hasattr(c, "item") else c for c in getattr(model, "classes_", [])] if kind == "classifier" else []
    return FILENAME, {"kind": kind, "classes": classes, "library_version": lightgbm.__version__}


def load(path: Path, meta: Mapping[str, Any]) -> LightGBMModel:
    import lightgbm

    booster = lightgbm.Booster(model_file=str(path))
    return LightGBMModel(booster, str(meta.get("kind", "regressor")), meta.get("classes") or ())
