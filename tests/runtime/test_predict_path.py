"""The scoring path calls the model once per batch when a declared threshold makes the decision."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from runtime_folder import sample_rows

from nb2prod.runtime.loading import load_model
from nb2prod.runtime.predictor import Predictor
from nb2prod.runtime.spec import load_spec


class _Counting:
    """Wraps a fitted classifier and counts calls per method."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.classes_ = inner.classes_
        self.calls: dict[str, int] = {"predict": 0, "predict_proba": 0}

    def predict(self, X: Any) -> Any:
        self.calls["predict"] += 1
        return self.inner.predict(X)

    def predict_proba(self, X: Any) -> Any:
        self.calls["predict_proba"] += 1
        return self.inner.predict_proba(X)


def test_a_declared_threshold_scores_with_one_model_call(credit_folder: Path) -> None:
    spec = load_spec(credit_folder)
    assert spec.threshold == 0.5 and spec.score_method == "predict_proba"
    model = _Counting(load_model(credit_folder))
    rows = sample_rows(credit_folder)
    out = Predictor(model, spec).predict_rows(rows)
    assert model.calls == {"predict": 0, "predict_proba": 1}
    proba = model.inner.predict_proba(_frame(spec, rows))[:, 1]
    assert out.decisions == [1 if p >= 0.5 else 0 for p in proba]
    assert out.scores == proba.tolist()


def test_without_a_threshold_the_decision_is_model_predict(credit_folder: Path) -> None:
    spec = dataclasses.replace(load_spec(credit_folder), threshold=None)
    model = _Counting(load_model(credit_folder))
    rows = sample_rows(credit_folder)
    out = Predictor(model, spec).predict_rows(rows)
    assert model.calls == {"predict": 1, "predict_proba": 1}
    assert out.decisions == model.inner.predict(_frame(spec, rows)).tolist()


def _frame(spec: Any, rows: list[dict[str, Any]]) -> Any:
    from nb2prod.runtime.predictor import make_frame

    return make_frame(rows, spec.feature_names, spec.features)
