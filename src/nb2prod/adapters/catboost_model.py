"""The only module importing catboost: save a CatBoost model in CatBoost's own ``.cbm`` format."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["FILENAME", "handles", "load", "save"]

FILENAME = "model.cbm"


def handles(model: Any) -> bool:
    """Exactly a ``CatBoostClassifier`` / ``CatBoostRegressor`` (a subclass keeps the pickle)."""
    import catboost

    return type(model) in (catboost.CatBoostClassifier, catboost.CatBoostRegressor)


def save(model: Any, directory: Path) -> tuple[str, dict[str, Any]]:
    import catboost

    model.save_model(str(directory / FILENAME), format="cbm")
    kind = "classifier" if isinstance(model, catboost.CatBoostClassifier) else "regressor"
    return FILENAME, {"kind": kind, "library_version": catboost.__version__}


def load(path: Path, meta: Mapping[str, Any]) -> Any:
    import catboost

    model = catboost.CatBoostClassifier() if meta.get("kind") == "classifier" else catboost.CatBoostRegressor()
    model.load_model(str(path), format="cbm")
    return model
