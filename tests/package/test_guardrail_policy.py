"""Guardrails inferred at deploy time: margin from the training data, used features only, warn/fallback policy.

Measured on scikit-learn's bundled data sets: with the default settings at most 0.5 % of genuine
test-set rows are flagged, none is sent to the fallback, and a value the model cannot take is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from nb2prod.errors import UsageError
from nb2prod.package.evaluate import describe_model
from nb2prod.package.guard_policy import guard_features, parse_policies
from nb2prod.package.proof import sample_rows
from nb2prod.package.schema import infer_schema
from nb2prod.runtime.guardrails import Guardrails
from nb2prod.runtime.spec import FeatureSpec

FOLDER = Path("/tmp")


def _rails(model: Any, x_train: pd.DataFrame, y_train: Any, policies: dict[str, str] | None = None) -> tuple[Guardrails, list[dict[str, Any]]]:
    task = describe_model(model, y_train).task_spec()
    features = guard_features(model, x_train, infer_schema(x_train), task, policies)
    return Guardrails([FeatureSpec.parse(f, FOLDER, i) for i, f in enumerate(features)]), features


def _cases() -> list[tuple[str, Any, Any]]:
    return [
        ("digits", datasets.load_digits(as_frame=True), make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))),
        ("wine", datasets.load_wine(as_frame=True), make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))),
        ("diabetes", datasets.load_diabetes(as_frame=True), Ridge()),
        ("breast_cancer", datasets.load_breast_cancer(as_frame=True), RandomForestClassifier(n_estimators=30, random_state=0)),
        ("breast_cancer-kbest", datasets.load_breast_cancer(as_frame=True),
         make_pipeline(StandardScaler(), SelectKBest(f_classif, k=5), LogisticRegression(max_iter=3000))),
    ]


@pytest.mark.parametrize(("name", "bunch", "model"), _cases(), ids=[c[0] for c in _cases()])
def test_genuine_test_rows_are_rarely_flagged_and_never_sent_to_the_fallback(name: str, bunch: Any, model: Any) -> None:
    x_train, x_test, y_train, _ = train_test_split(bunch.data, bunch.target, test_size=0.25, random_state=0)
    model.fit(x_train, y_train)
    rails, _ = _rails(model, x_train, y_train)
    found = [rails.check(row) for row in sample_rows(x_test, len(x_test))]
    flagged = sum(1 for v in found if v)
    assert flagged <= 0.005 * len(x_test), (name, flagged, [v for v in found if v][:3])
    assert all(Guardrails.blocking(v) == 0 for v in found)
    # the same data far outside the training range is still caught
    wild = sample_rows(x_test.head(1) * 1000 + 1000, 1)[0]
    assert rails.check(wild)


def test_features_the_model_ignores_cannot_trip_a_guardrail() -> None:
    bunch = datasets.load_breast_cancer(as_frame=True)
    model = make_pipeline(StandardScaler(), SelectKBest(f_classif, k=5), LogisticRegression(max_iter=3000)).fit(bunch.data, bunch.target)
    rails, features = _rails(model, bunch.data, bunch.target)
    kept = set(bunch.data.columns[model[1].get_support()])
    assert {f["name"] for f in features if f["guard"]["used"]} == kept
    row = sample_rows(bunch.data.head(1), 1)[0]
    ignored = next(c for c in bunch.data.columns if c not in kept)
    used = next(iter(kept))
    assert rails.check({**row, ignored: 1e9}) == []
    [violation] = rails.check({**row, used: 1e9})
    assert violation.startswith(f"{used}: 1000000000.0 above training max") and not violation.blocking


def test_policy_fallback_makes_a_feature_blocking_and_is_parsed_with_one_line_errors() -> None:
    bunch = datasets.load_wine(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(bunch.data, bunch.target)
    names = list(bunch.data.columns)
    assert parse_policies("fallback", names) == dict.fromkeys(names, "fallback")
    assert parse_policies("alcohol=fallback, proline=warn", names) == {"alcohol": "fallback", "proline": "warn"}
    for bad, words in (("nope=fallback", "not a training column"), ("alcohol=block", "not one of warn, fallback"),
                       ("alcohol=warn,proline", "FEATURE=POLICY")):
        with pytest.raises(UsageError, match=words):
            parse_policies(bad, names)
    rails, _ = _rails(model, bunch.data, bunch.target, parse_policies("alcohol=fallback", names))
    row = sample_rows(bunch.data.head(1), 1)[0]
    assert Guardrails.blocking(rails.check({**row, "alcohol": 1e6})) == 1
    assert Guardrails.blocking(rails.check({**row, "proline": 1e6})) == 0 and rails.check({**row, "proline": 1e6})


def test_values_the_model_cannot_take_fall_back_and_values_it_can_only_warn() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "colour": rng.choice(["red", "green", "blue"], size=300)})
    target = (frame["x"] + (frame["colour"] == "red") > 0.5).astype(int)
    strict = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="error"), ["colour"]), remainder="passthrough"),
                           LogisticRegression()).fit(frame, target)
    rails, features = _rails(strict, frame, target)
    assert [f["guard"]["rejects"] for f in features] == [["missing"], ["missing", "unseen"]]
    row = {"x": 0.1, "colour": "red"}
    assert Guardrails.blocking(rails.check({**row, "colour": "purple"})) == 1
    assert Guardrails.blocking(rails.check({**row, "x": None})) == 1
    assert Guardrails.blocking(rails.check({**row, "x": 100.0})) == 0 and rails.check({**row, "x": 100.0})

    numeric = frame[["x"]].assign(y=rng.normal(size=300))
    native_nan = DecisionTreeClassifier(max_depth=3, random_state=0).fit(numeric, target)  # takes NaN natively
    rails, features = _rails(native_nan, numeric, target)
    assert [f["guard"]["rejects"] for f in features] == [[], []]
    [missing] = rails.check({"x": None, "y": 0.0})
    assert missing == "x: missing value" and not missing.blocking


def test_a_folder_without_guard_settings_keeps_the_exact_range_and_falls_back() -> None:
    spec = FeatureSpec.parse({"name": "age", "dtype": "int", "min": 21, "max": 75}, FOLDER, 0)
    assert (spec.guard.low, spec.guard.high, spec.guard.policy) == (21.0, 75.0, "fallback")
    [violation] = Guardrails([spec]).check({"age": 76})
    assert violation == "age: 76 above training max 75" and violation.blocking
    with pytest.raises(Exception, match=r"features\[0\].guard.policy"):
        FeatureSpec.parse({"name": "age", "dtype": "int", "guard": {"policy": "ignore"}}, FOLDER, 0)


def test_the_deploy_option_reaches_the_spec_from_the_magic_the_api_and_the_check_step(workspace: Any) -> None:
    from nb2prod.magics import _deploy_parser
    from nb2prod.package.deploy import DeployInputs, DeployRequest
    from nb2prod.package.deploy.check import check_inputs
    from nb2prod.package.deploy.validate import validate

    parsed = _deploy_parser().parse_args(["model", "--name", "wine", "--guardrails", "alcohol=fallback"])
    assert parsed.guardrails == "alcohol=fallback"
    assert DeployRequest(name="wine", guardrails={"alcohol": "fallback"}).guardrails == "alcohol=fallback"
    bunch = datasets.load_wine(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(bunch.data, bunch.target)
    request = DeployRequest(name="wine", guardrails="alcohol=fallback")
    checked = check_inputs(model, DeployInputs(model, bunch.data, bunch.target), request,
                           validate(workspace.settings, request, has_holdout=False))
    policies = {f["name"]: f["guard"]["policy"] for f in checked.schema}
    assert policies["alcohol"] == "fallback" and set(policies.values()) == {"warn", "fallback"}
    with pytest.raises(UsageError, match="not a training column"):
        bad = request.replace(guardrails="alcool=fallback")
        check_inputs(model, DeployInputs(model, bunch.data, bunch.target), bad, validate(workspace.settings, bad, has_holdout=False))


def test_a_model_that_ignores_every_input_is_deployed_with_a_warning(workspace: Any) -> None:
    from sklearn.tree import DecisionTreeClassifier as Tree

    from nb2prod.package.deploy import DeployInputs, DeployRequest
    from nb2prod.package.deploy.check import check_inputs
    from nb2prod.package.deploy.validate import validate

    bunch = datasets.load_breast_cancer(as_frame=True)
    stump = Tree(ccp_alpha=1.0).fit(bunch.data, bunch.target)  # pruned to its root: one answer for every row
    request = DeployRequest(name="pruned", model_var="clf")
    checked = check_inputs(stump, DeployInputs(stump, bunch.data, bunch.target), request,
                           validate(workspace.settings, request, has_holdout=False))
    assert not any(f["guard"]["used"] for f in checked.schema)
    assert any("do not depend on any input" in w and "clf" in w for w in checked.warnings)


def test_a_wide_frame_is_probed_all_columns_at_once() -> None:
    from nb2prod.package.guard_policy import MAX_PROBED_FEATURES

    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(150, MAX_PROBED_FEATURES + 4)), columns=[f"c{i}" for i in range(MAX_PROBED_FEATURES + 4)])
    model = LogisticRegression(max_iter=200).fit(wide, wide["c0"] > 0)
    _, features = _rails(model, wide, wide["c0"] > 0)
    assert all(f["guard"]["used"] and f["guard"]["rejects"] == ["missing"] for f in features)
    assert features[0]["guard"]["low"] < features[0]["min"] < features[0]["max"] < features[0]["guard"]["high"]


def test_a_category_column_the_model_ignores_is_found_unused_without_losing_its_dtype() -> None:
    lightgbm = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "noise": pd.Categorical(rng.choice(["a", "b"], size=300))})
    model = lightgbm.LGBMClassifier(n_estimators=10, n_jobs=1, verbose=-1, categorical_feature=[1]).fit(frame, frame["x"] > 0)
    _, features = _rails(model, frame, frame["x"] > 0)
    assert [f["guard"]["used"] for f in features] == [True, False]
