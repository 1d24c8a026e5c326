"""Step 4, capture: the model (with the notebook code it needs) and its fallback model into the folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod.errors import UsageError
from nb2prod.package.deploy.inputs import DeployInputs

__all__ = ["Captured", "capture", "fit_baseline"]


@dataclass(frozen=True, slots=True)
class Captured:
    saved: Any  # artifact.SavedModel: sha256, modules, captured code
    fallback: dict[str, Any]  # the fallback block, ``previous_version`` filled in


def fit_baseline(task: str, target: Any) -> Any:
    """The baseline fallback: the training median (regression) or class prior (classification)."""
    import numpy as np
    from sklearn.dummy import DummyClassifier, DummyRegressor

    y = np.asarray(target).ravel()
    baseline = DummyRegressor(strategy="median") if task == "regression" else DummyClassifier(strategy="prior")
    return baseline.fit(np.zeros((len(y), 1)), y)


def capture(folder: Path, model: Any, inputs: DeployInputs, task: str, fallback: dict[str, Any], live_id: str | None) -> Captured:
    from nb2prod.package.artifact import save_baseline, save_model

    if fallback["strategy"] == "previous":
        if live_id is None:
            raise UsageError("--fallback previous needs a live version to fall back to", fix="use --fallback baseline for a first deploy")
        fallback = {**fallback, "previous_version": live_id}
    saved = save_model(model, folder, namespace=inputs.namespace, history=inputs.history)
    if fallback["strategy"] == "baseline":
        save_baseline(fit_baseline(task, inputs.target), folder)
    return Captured(saved=saved, fallback=fallback)
