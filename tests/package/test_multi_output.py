"""Multilabel and multi-output models are refused at deploy, in one line that says what would work,
whether or not a target is passed (the estimator says how many outputs it predicts); single-output
models of the same families still deploy as their task."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from nb2prod.api import Workspace
from nb2prod.errors import InvalidInputError
from nb2prod.package.evaluate import describe_model


def _multilabel() -> tuple[Any, Any]:
    from sklearn.datasets import make_multilabel_classification

    return make_multilabel_classification(n_samples=120, n_classes=3, random_state=0)


def _models() -> dict[str, tuple[Any, Any, Any]]:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.multioutput import ClassifierChain, MultiOutputClassifier, MultiOutputRegressor
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, Y = _multilabel()
    Xd, yd = load_diabetes(return_X_y=True)
    Yd = np.c_[yd, yd / 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "MultiOutputClassifier": (MultiOutputClassifier(LogisticRegression(max_iter=300)).fit(X, Y), X, Y),
            "ClassifierChain": (ClassifierChain(LogisticRegression(max_iter=300)).fit(X, Y), X, Y),
            "forest on a label matrix": (RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y), X, Y),
            "nearest neighbours on a label matrix": (KNeighborsClassifier().fit(X, Y), X, Y),
            "pipeline ending in a multilabel forest": (
                make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3, random_state=0)).fit(X, Y), X, Y),
            "grid search over a multilabel forest": (
                GridSearchCV(RandomForestClassifier(random_state=0), {"n_estimators": [2, 3]}, cv=2).fit(X, Y), X, Y),
            "Ridge on two targets": (Ridge().fit(Xd, Yd), Xd, Yd),
            "forest regressor on two targets": (RandomForestRegressor(n_estimators=3, random_state=0).fit(Xd, Yd), Xd, Yd),
            "MultiOutputRegressor": (MultiOutputRegressor(Ridge()).fit(Xd, Yd), Xd, Yd),
        }


MODELS = _models()


@pytest.mark.parametrize("label", list(MODELS))
def test_multi_output_models_are_refused_with_what_would_work(label: str) -> None:
    model, _, target = MODELS[label]
    for passed in (None, target):  # the estimator alone tells, the target too
        with pytest.raises(InvalidInputError) as caught:
            describe_model(model, passed)
        message = str(caught.value)
        assert "\n" not in message and ("outputs per row" in message or "several outputs" in message)
        assert "one model per output" in (caught.value.fix or "")


def test_single_output_models_of_the_same_families_keep_their_task() -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neighbors import KNeighborsClassifier

    X, Y = _multilabel()
    Xd, yd = load_diabetes(return_X_y=True)
    assert describe_model(RandomForestClassifier(n_estimators=3).fit(X, Y[:, 0]), Y[:, 0]).task == "binary"
    assert describe_model(KNeighborsClassifier().fit(X, Y[:, 0])).task == "binary"
    assert describe_model(LogisticRegression(max_iter=500).fit(X, Y.sum(axis=1))).task == "multiclass"
    assert describe_model(Ridge().fit(Xd, yd), yd).task == "regression"
    assert describe_model(RandomForestRegressor(n_estimators=3).fit(Xd, yd)).task == "regression"


def test_a_multilabel_deploy_stops_before_anything_is_written(workspace: Workspace) -> None:
    import pandas as pd

    model, X, _ = MODELS["forest on a label matrix"]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    with pytest.raises(InvalidInputError, match="3 outputs per row"):
        workspace.deploy(model, data=frame, name="tags")
    assert workspace.store.registry.versions("tags") == []
    assert not (workspace.settings.deployments_dir / "tags").exists() or not any((workspace.settings.deployments_dir / "tags").iterdir())
