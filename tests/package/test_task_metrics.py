"""Holdout metrics and the validation gate speak each task's metrics: regression MAE/RMSE/R², multiclass
accuracy, macro-F1 and per-class recall (the gate can require the worst class's recall)."""

from __future__ import annotations

import pytest
from sklearn import datasets
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_absolute_error, recall_score
from sklearn.model_selection import train_test_split

from nb2prod.errors import GateRefusedError, UsageError
from nb2prod.package.evaluate import describe_model, holdout_metrics
from nb2prod.package.gate import metric_gate, parse_thresholds


def test_multiclass_metrics_carry_per_class_recall_and_the_gate_can_require_it() -> None:
    bunch = datasets.load_wine(as_frame=True)
    names = bunch.target.map(dict(enumerate(bunch.target_names)))
    x_train, x_test, y_train, y_test = train_test_split(bunch.data, names, test_size=0.3, random_state=0)
    model = LogisticRegression(max_iter=50).fit(x_train, y_train)  # weak on purpose: classes differ
    metrics = holdout_metrics(model, x_test, y_test, describe_model(model, y_train))
    expected = recall_score(y_test, model.predict(x_test), average=None, labels=list(bunch.target_names))
    assert {k: metrics[f"recall.{k}"] for k in bunch.target_names} == pytest.approx(dict(zip(bunch.target_names, expected, strict=True)), abs=1e-6)
    assert metrics["recall_min"] == pytest.approx(min(expected), abs=1e-6)
    assert {"accuracy", "f1_macro", "balanced_accuracy"} <= set(metrics)
    worst = min(bunch.target_names, key=lambda c: metrics[f"recall.{c}"])
    with pytest.raises(GateRefusedError, match=f"recall.{worst} "):
        metric_gate("wine", "multiclass", metrics, thresholds=parse_thresholds([f"recall.{worst}=0.999"]))
    assert metric_gate("wine", "multiclass", metrics, thresholds=parse_thresholds(["recall_min=0.0"]))[0]["passed"]
    with pytest.raises(UsageError, match=r"recall\.<class>"):
        parse_thresholds(["recal=0.5"])


def test_regression_metrics_and_the_gate_read_lower_errors_as_better() -> None:
    bunch = datasets.load_diabetes(as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(bunch.data, bunch.target, test_size=0.3, random_state=0)
    model = Ridge().fit(x_train, y_train)
    metrics = holdout_metrics(model, x_test, y_test, describe_model(model, y_train))
    assert set(metrics) == {"rmse", "mae", "r2"}
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y_test, model.predict(x_test)), abs=1e-6)
    assert metric_gate("d", "regression", metrics, thresholds={"mae": metrics["mae"] + 1})[0]["passed"]
    with pytest.raises(GateRefusedError, match=r"mae .* > required"):
        metric_gate("d", "regression", metrics, thresholds={"mae": metrics["mae"] - 1})
    better = {**metrics, "rmse": metrics["rmse"] * 0.9}
    with pytest.raises(GateRefusedError, match="worse than live"):
        metric_gate("d", "regression", metrics, thresholds={}, live_version="v0", live_metrics=better)
