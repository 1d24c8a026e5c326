"""The typed task and the one scoring path, without a deploy: every estimator's decision is its own
``predict``; the score comes from ``predict_proba``, else ``decision_function``; the deployment spec
the writer validates is the one every reader parses (per task and per fallback strategy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.cross_decomposition import PLSRegression
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import IsolationForest, RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression, Perceptron, Ridge, RidgeClassifier, SGDClassifier
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC, OneClassSVM
from sklearn.tree import DecisionTreeClassifier

from nb2prod.errors import InvalidInputError
from nb2prod.package.deploy import parse_fallback
from nb2prod.package.evaluate import describe_model, holdout_metrics, predict_frame, residual_interval, settle_score_method
from nb2prod.package.proof import frame_from_rows, sample_rows
from nb2prod.runtime.fallback import build_fallback
from nb2prod.runtime.predictor import Predictor
from nb2prod.runtime.spec import IntervalSpec, Task, TaskSpec, load_spec, write_spec


def _split(loader: Any, n_cols: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    x, y = loader(return_X_y=True, as_frame=True)
    if n_cols:
        x = x.iloc[:, :n_cols]
    return train_test_split(x, y, test_size=0.3, random_state=0)  # type: ignore[no-any-return]


BINARY = _split(load_breast_cancer, 8)
MULTICLASS = _split(load_iris)

CLASSIFIERS = {
    "svc": (lambda: make_pipeline(StandardScaler(), SVC()), "decision_function"),
    "svc_probability": (lambda: make_pipeline(StandardScaler(), SVC(probability=True, random_state=0)), "predict_proba"),
    "linear_svc": (lambda: make_pipeline(StandardScaler(), LinearSVC(random_state=0)), "decision_function"),
    "ridge_classifier": (lambda: RidgeClassifier(), "decision_function"),
    "perceptron": (lambda: make_pipeline(StandardScaler(), Perceptron(random_state=0)), "decision_function"),
    "sgd_hinge": (lambda: make_pipeline(StandardScaler(), SGDClassifier(loss="hinge", random_state=0)), "decision_function"),
    "logistic": (lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)), "predict_proba"),
    "forest": (lambda: RandomForestClassifier(n_estimators=15, random_state=0), "predict_proba"),
    "hard_voting": (lambda: VotingClassifier([("t", DecisionTreeClassifier(random_state=0)), ("r", RidgeClassifier())]), None),
}


@pytest.mark.parametrize("data", [BINARY, MULTICLASS], ids=["binary", "multiclass"])
@pytest.mark.parametrize("kind", sorted(CLASSIFIERS))
def test_the_decision_is_the_models_predict_and_the_score_source_is_named(kind: str, data: Any) -> None:
    x_train, x_test, y_train, y_test = data
    make, method = CLASSIFIERS[kind]
    model = make().fit(x_train, y_train)
    info = describe_model(model, y_train)
    settle_score_method(model, x_train, info)
    assert info.task == ("binary" if data is BINARY else "multiclass")
    assert info.score_method == method
    out = Predictor(model, info.task_spec()).predict_frame(x_test)
    assert out.decisions == model.predict(x_test).tolist()  # every row, SVC(probability=True) included
    assert out.score_source == method
    if method is None:
        assert out.scores == [None] * len(x_test)
    elif method == "decision_function" and info.task == "binary":
        assert out.scores == pytest.approx(model.decision_function(x_test).tolist())
    metrics = holdout_metrics(model, x_test, y_test, info)
    assert metrics["accuracy"] == pytest.approx(float(np.mean(model.predict(x_test) == y_test.to_numpy())))
    assert ("roc_auc" in metrics) == (info.task == "binary" and method is not None)
    assert ("log_loss" in metrics) == (info.task == "binary" and method == "predict_proba")


def test_svc_with_platt_probabilities_still_answers_with_predict() -> None:
    """Platt scaling is not argmax-consistent: the probability and predict disagree on some rows."""
    x, y = load_iris(return_X_y=True, as_frame=True)
    model = SVC(probability=True, random_state=0, C=0.3).fit(x, y)
    by_proba = np.asarray(model.classes_)[model.predict_proba(x).argmax(axis=1)]
    assert (by_proba != model.predict(x)).any(), "pick data where Platt scaling and predict disagree"
    out = predict_frame(model, x, describe_model(model, y))
    assert out.decisions == model.predict(x).tolist()


def test_margin_is_the_positive_class_margin_whatever_the_class_order() -> None:
    x_train, x_test, y_train, _ = BINARY
    model = LinearSVC(random_state=0).fit(StandardScaler().fit(x_train).transform(x_train), y_train)
    info = describe_model(model, y_train)
    frame = StandardScaler().fit(x_train).transform(x_test)
    assert info.positive_class == 1
    as_negative = TaskSpec(task=Task.BINARY, classes=(0, 1), positive_class=0, score_method="decision_function")
    flipped = Predictor(model, as_negative).predict_frame(frame)
    assert flipped.scores == pytest.approx((-model.decision_function(frame)).tolist())


def test_a_threshold_is_the_one_declared_exception_to_predict() -> None:
    x_train, x_test, y_train, _ = BINARY
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x_train, y_train)
    info = describe_model(model, y_train)
    out = predict_frame(model, x_test, info, threshold=0.9)
    p = model.predict_proba(x_test)[:, 1]
    assert out.decisions == [1 if v >= 0.9 else 0 for v in p]


def test_regressors_answer_their_value_with_a_residual_interval() -> None:
    x_train, x_test, y_train, y_test = _split(load_diabetes)
    model = Ridge().fit(x_train, y_train)
    info = describe_model(model, y_train)
    assert info.task == "regression" and info.score_method is None and info.classes == []
    interval = residual_interval(model, x_test, y_test)
    assert interval is not None and interval["low"] < 0 < interval["high"] and interval["n"] == len(y_test)
    out = Predictor(model, info.task_spec(interval=IntervalSpec.parse(interval, Path("/tmp")))).predict_frame(x_test)
    assert out.decisions == model.predict(x_test).tolist() and out.score_source == "predict"
    inside = np.mean([lo <= t <= hi for (lo, hi), t in zip(out.intervals or [], y_test, strict=True)])
    assert 0.85 <= inside <= 0.95  # the holdout itself: the quantiles put ~90% inside
    metrics = holdout_metrics(model, x_test, y_test, info)
    assert set(metrics) == {"rmse", "mae", "r2"}


def test_multi_output_targets_are_refused_in_one_line() -> None:
    x, y = load_iris(return_X_y=True, as_frame=True)
    targets = np.column_stack([y == 0, y == 1]).astype(int)
    model = DecisionTreeClassifier(random_state=0).fit(x, targets)
    with pytest.raises(InvalidInputError, match="single-output models only"):
        describe_model(model, targets)


def _outliers() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Two Gaussian clusters labelled 1 (inlier) and uniform noise labelled -1, scikit-learn's convention."""
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(2, 0.4, (120, 2)), rng.normal(-2, 0.3, (120, 2)), rng.uniform(-4, 4, (40, 2))])
    y = np.r_[np.ones(240, dtype=int), -np.ones(40, dtype=int)]
    x_train, x_test, y_train, y_test = train_test_split(pd.DataFrame(x, columns=["a", "b"]), y, stratify=y, random_state=0)
    return x_train, x_test, y_train, y_test


@pytest.mark.parametrize("make", [
    lambda: IsolationForest(random_state=0), lambda: OneClassSVM(nu=0.15), lambda: LocalOutlierFactor(novelty=True),
], ids=["isolation_forest", "one_class_svm", "local_outlier_factor"])  # fmt: skip
def test_an_outlier_detector_answers_its_predict_scored_by_its_decision_function(make: Any) -> None:
    x_train, x_test, y_train, y_test = _outliers()
    model = make().fit(x_train)
    info = describe_model(model, y_train)
    settle_score_method(model, x_train, info)
    assert (info.task, info.classes, info.positive_class, info.score_method) == ("binary", [-1, 1], 1, "decision_function")
    out = Predictor(model, info.task_spec()).predict_frame(x_test)
    assert out.decisions == model.predict(x_test).tolist()
    assert out.scores == pytest.approx(model.decision_function(x_test).tolist())  # positive for inliers, the class 1
    metrics = holdout_metrics(model, x_test, pd.Series(y_test), info)
    assert metrics["accuracy"] == pytest.approx(float(np.mean(model.predict(x_test) == y_test))) and metrics["roc_auc"] > 0.8
    assert describe_model(model).classes == [-1, 1]  # no target: the detector's own labels


@pytest.mark.parametrize("make", [lambda: PLSRegression(2), lambda: make_pipeline(StandardScaler(), LinearSVC(random_state=0))],
                         ids=["pls_regression", "pipeline"])
def test_a_model_fitted_on_an_array_is_given_an_array_without_a_warning(make: Any) -> None:
    """The service rebuilds requests as a frame of f0, f1…; a model fitted on an array gets the array, as in the
    notebook, and scikit-learn has no "fitted without feature names" warning to write on every request."""
    import warnings

    x_train, x_test, y_train, _ = BINARY
    model = make().fit(x_train.to_numpy(), y_train.to_numpy())
    info = describe_model(model, y_train)
    named = [f"f{i}" for i in range(x_test.shape[1])]  # the columns deploy gives an array's features
    settle_score_method(model, pd.DataFrame(x_train.to_numpy(), columns=named), info)
    frame = pd.DataFrame(x_test.to_numpy(), columns=named)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Predictor(model, info.task_spec()).predict_frame(frame)
    assert out.decisions == pytest.approx(np.asarray(model.predict(x_test.to_numpy())).reshape(-1).tolist())


def test_an_outlier_detector_with_a_target_in_other_labels_is_refused_in_one_line() -> None:
    x_train, _, y_train, _ = _outliers()
    model = IsolationForest(random_state=0).fit(x_train)
    with pytest.raises(InvalidInputError) as refused:
        describe_model(model, (y_train == -1).astype(int))  # 1 marks an outlier: the opposite of predict()
    message = str(refused.value)
    assert "labels are 0, 1" in message and "--target ''" in message and "\n" not in message


def test_an_outlier_detector_that_cannot_score_new_rows_names_novelty() -> None:
    x_train, _, _, _ = _outliers()
    with pytest.raises(InvalidInputError, match=r"labels only its training rows.*LocalOutlierFactor\(novelty=True\)"):
        describe_model(LocalOutlierFactor().fit(x_train))


@pytest.mark.parametrize("make", [lambda: KMeans(3, n_init=2, random_state=0), lambda: GaussianMixture(3, random_state=0)],
                         ids=["clusterer", "density_estimator"])
def test_a_clusterer_is_refused_with_what_would_work(make: Any) -> None:
    x, y = load_iris(return_X_y=True, as_frame=True)
    model = make().fit(x)
    with pytest.raises(InvalidInputError, match="cluster number") as refused:
        describe_model(model, y)
    assert "KNeighborsClassifier" in str(refused.value)


def _config(task: str, fallback: str, **extra: Any) -> dict[str, Any]:
    features = [{"name": "a", "dtype": "float", "nullable": False, "min": 0.0, "max": 1.0}]
    block = parse_fallback(fallback)
    if block["strategy"] == "previous":
        block["previous_version"] = "m-v0"
    task_fields: dict[str, Any] = {
        "binary": {"task": "binary", "classes": [0, 1], "positive_class": 1, "threshold": None, "score": "decision_function"},
        "multiclass": {"task": "multiclass", "classes": ["a", "b", "c"], "positive_class": None, "threshold": None, "score": None},
        "regression": {"task": "regression", "classes": None, "positive_class": None, "threshold": None, "score": None,
                       "interval": {"low": -1.0, "high": 2.0, "level": 0.9, "n": 50}},
    }[task]
    return {"name": "m", "version_id": "m-v1", **task_fields, "features": features, "fallback": block, **extra}


@pytest.mark.parametrize("fallback", ["baseline", "constant:0", "previous", "none"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_what_the_writer_writes_every_reader_accepts(tmp_path: Path, task: str, fallback: str) -> None:
    written = write_spec(tmp_path, _config(task, fallback))
    read = load_spec(tmp_path)
    assert read.task_spec == written.task_spec and read.task == task and isinstance(read.task, Task)
    assert read.fallback_strategy == {"previous": "previous_version"}.get(fallback.split(":")[0], fallback.split(":")[0])
    assert json.loads((tmp_path / "deployment.json").read_text())["task"] == task
    if task == "regression":
        assert read.classes is None and read.interval == IntervalSpec(low=-1.0, high=2.0, level=0.9, n=50)
    if fallback == "none":
        answer, _ = build_fallback(read).predict_rows([{"a": 0.5}])
        assert answer.decisions == [None]  # no stand-in: the answer says so instead of inventing one


@pytest.mark.parametrize(
    ("task", "change", "named"),
    [
        ("regression", {"classes": [0, 1]}, "classes"),
        ("regression", {"threshold": 0.5}, "threshold"),
        ("binary", {"threshold": 0.5}, "threshold"),  # decision_function scores take no probability threshold
        ("binary", {"score": "predict_log_proba"}, "score"),
        ("multiclass", {"interval": {"low": 0, "high": 1}}, "interval"),
        ("regression", {"interval": {"low": 2, "high": 1}}, "interval"),
    ],
)
def test_a_spec_the_runtime_would_misread_is_refused_when_written(tmp_path: Path, task: str, change: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInputError, match=named):
        write_spec(tmp_path, {**_config(task, "baseline"), **change})
    assert not (tmp_path / "deployment.json").exists()


def test_sample_rows_keep_every_digit() -> None:
    x_train, *_ = _split(load_diabetes)
    rows = sample_rows(x_train, 50)
    rebuilt = frame_from_rows(rows, [{"name": c, "dtype": "float"} for c in x_train.columns])
    original = x_train.sample(n=50, random_state=0)
    assert (rebuilt.to_numpy() == original.to_numpy()).all()
