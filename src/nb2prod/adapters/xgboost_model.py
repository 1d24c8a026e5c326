"""The only module importing xgboost: save a scikit-learn-API XGBoost model in XGBoost's own format.

XGBoost's UBJSON model file is portable across XGBoost versions and platforms (a pickle is not),
and keeps the classes, feature names and categories the wrapper needs to answer as it did.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["FILENAME", "handles", "load", "save"]

FILENAME = "model.ubj"


def handles(model: Any) -> bool:
    """Exactly an ``XGBClassifier`` / ``XGBRegressor`` (a subclass may change predict: it keeps the pickle)."""
    import xgboost

    return type(model) in (xgboost.XGBClassifier, xgboost.XGBRegressor)


def save(model: Any, directory: Path) -> tuple[str, dict[str, Any]]:
    import xgboost

    model.save_model(directory / FILENAME)
    kind = "classifier" if isinstance(model, xgboost.XGBClassifier) else "regressor"
    return FILENAME, {"kind": kind, "library_version": xgboost.__version__}


def load(path: Path, meta: Mapping[str, Any]) -> Any:
    import xgboost

    model = xgboost.XGBClassifier() if meta.get("kind") == "classifier" else xgboost.XGBRegressor()
    model.load_model(path)
    return model
