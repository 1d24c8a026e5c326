"""Fast tests of the deploy building blocks: names, schema, gates, pins, capture, rendering."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deploy_shell import run

from nb2prod.errors import GateRefusedError, InvalidInputError, UsageError
from nb2prod.package.capture import capture_source
from nb2prod.package.deploy import parse_fallback
from nb2prod.package.environment import compare_environments, pin_environment, wheel_distribution
from nb2prod.package.gate import metric_gate, parse_thresholds, schema_gate
from nb2prod.package.names import new_version_id, split_ref, validate_name, version_suffix
from nb2prod.package.proof import compare_predictions, frame_from_rows, sample_rows
from nb2prod.package.schema import infer_schema, schema_changes


@pytest.mark.parametrize("name", ["credit", "credit-default", "a", "m2"])
def test_legal_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["Credit", "credit default", "credit_v1", "-x", "x-", "1abc", "", "a" * 41, "crédit", "a/b"])
def test_illegal_names_are_one_line_usage_errors(name: str) -> None:
    with pytest.raises(UsageError) as info:
        validate_name(name)
    assert "\n" not in str(info.value) and info.value.fix and "--name" in info.value.fix


def test_version_ids_sort_by_time_and_fit_the_store() -> None:
    vid = new_version_id("credit")
    assert vid.startswith("credit-v") and len(vid) <= 64
    assert version_suffix(vid, "credit").startswith("v")
    assert split_ref("credit:v2026") == ("credit", "v2026")
    assert split_ref("credit") == ("credit", None)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [21, 40, 75],
            "income": [1000.5, np.nan, 3000.0],
            "purpose": ["car", "home", "car"],
            "flag": [True, False, True],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
        }
    )


def test_schema_inference_names_dtypes_nullability_and_guardrails() -> None:
    schema = {f["name"]: f for f in infer_schema(_frame())}
    assert schema["age"] == {"name": "age", "dtype": "int", "nullable": False, "frame_dtype": "int64", "min": 21, "max": 75}
    assert schema["income"]["dtype"] == "float" and schema["income"]["nullable"] is True
    assert schema["income"]["min"] == 1000.5 and schema["income"]["max"] == 3000
    assert schema["purpose"] == {"name": "purpose", "dtype": "category", "nullable": False, "frame_dtype": "object",
                                 "categories": ["car", "home"]}
    assert schema["flag"]["dtype"] == "bool" and schema["when"]["dtype"] == "datetime"


def test_mixed_type_column_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="mixes value types"):
        infer_schema(pd.DataFrame({"x": ["a", 1, 2.0]}))


def test_schema_changes_and_gate() -> None:
    old = infer_schema(_frame())
    assert schema_changes(old, old) == []
    new = infer_schema(_frame().drop(columns=["flag"]).assign(extra=1))
    changes = schema_changes(old, new)
    assert "removed column 'flag'" in changes and "added column 'extra'" in changes
    with pytest.raises(GateRefusedError) as info:
        schema_gate("credit", "credit-v1", old, new, allow=False)
    assert info.value.evidence["changes"] == changes and "--allow-schema-change" in (info.value.fix or "")
    assert schema_gate("credit", "credit-v1", old, new, allow=True) == changes
    assert schema_gate("credit", None, None, new, allow=False) == []
    widened = [dict(f, dtype="float") if f["name"] == "age" else f for f in old]
    assert schema_changes(old, widened) == []  # int → float accepts everything it accepted before


def test_metric_gate_thresholds_and_live_comparison() -> None:
    assert parse_thresholds(["roc_auc=0.7", "rmse=3"]) == {"roc_auc": 0.7, "rmse": 3.0}
    for bad in (["roc_auc"], ["nope=1"], ["roc_auc=x"]):
        with pytest.raises(UsageError):
            parse_thresholds(bad)
    checks = metric_gate("c", "binary", {"roc_auc": 0.8}, thresholds={"roc_auc": 0.7})
    assert checks[0]["passed"]
    with pytest.raises(GateRefusedError, match=r"roc_auc 0.6000 < required 0.7") as info:
        metric_gate("c", "binary", {"roc_auc": 0.6}, thresholds={"roc_auc": 0.7})
    assert info.value.evidence["checks"][0]["passed"] is False
    # default gate: not worse than live by more than the tolerance
    metric_gate("c", "binary", {"roc_auc": 0.795}, thresholds={}, live_version="c-v1", live_metrics={"roc_auc": 0.8})
    with pytest.raises(GateRefusedError, match="worse than live c-v1"):
        metric_gate("c", "binary", {"roc_auc": 0.7}, thresholds={}, live_version="c-v1", live_metrics={"roc_auc": 0.8})
    # lower-is-better metrics: threshold is a maximum, tolerance relative
    metric_gate("r", "regression", {"rmse": 2.0}, thresholds={"rmse": 3})
    with pytest.raises(GateRefusedError):
        metric_gate("r", "regression", {"rmse": 1.1}, thresholds={}, live_version="r-v1", live_metrics={"rmse": 1.0})
    with pytest.raises(UsageError, match="not computed"):
        metric_gate("c", "binary", {"roc_auc": 0.8}, thresholds={"rmse": 1.0})


def test_fallback_specs() -> None:
    assert parse_fallback("baseline")["strategy"] == "baseline"
    assert parse_fallback("constant:0") == {"strategy": "constant", "constant": 0, "previous_version": None}
    assert parse_fallback("constant:no")["constant"] == "no"
    for bad in ("magic", "constant:", "previous:3"):
        with pytest.raises(UsageError):
            parse_fallback(bad)


def test_environment_pins_are_exact_and_include_dependencies() -> None:
    import sklearn

    lock = pin_environment({"sklearn", "numpy", "os", "json"})
    assert lock.packages["scikit-learn"] == sklearn.__version__
    assert "scipy" in lock.model and "joblib" in lock.model  # scikit-learn's own requirements, as installed
    assert "bentoml" in lock.service and "nb2prod" in lock.service
    text = lock.requirements()
    assert f"scikit-learn=={sklearn.__version__}" in text.splitlines() and "# nb2prod environment lock: python" in text
    assert "nb2prod==" not in lock.requirements(exclude=["nb2prod"])
    assert lock.local["nb2prod"] == str(Path(__file__).resolve().parents[2])  # the tests run an editable install of this checkout
    assert "scikit-learn" not in lock.local  # from the index
    assert wheel_distribution("nb2prod-0.1.0-py3-none-any.whl") == "nb2prod"
    assert wheel_distribution("scikit_learn-1.9.1-cp311-cp311-manylinux_2_17_x86_64.whl") == "scikit-learn"
    assert compare_environments({"python": "3.11", "packages": {"a": "1"}}, {"python": "3.11", "packages": {"a": "2"}}) == ["a 1 → 2"]


def test_proof_comparison() -> None:
    a = {"predictions": [0, 1], "scores": [0.1, 0.9]}
    assert compare_predictions(a, a)["ok"]
    b = {"predictions": [0, 1], "scores": [0.1, 0.9000001]}
    result = compare_predictions(a, b)
    assert not result["ok"] and result["mismatched"] == 1 and result["first_mismatch"]["row"] == 1
    rows = sample_rows(_frame(), 2)
    assert len(rows) == 2 and json.dumps(rows)
    assert list(frame_from_rows(rows, infer_schema(_frame())).columns) == list(_frame().columns)


def test_capture_writes_notebook_classes_functions_imports_and_constants(shell: object, tmp_path: Path) -> None:
    run(shell, "import numpy as np\nfrom sklearn.base import BaseEstimator, TransformerMixin\nFACTOR = 2.5\nNAMES = ('a', 'b')")
    run(
        shell,
        "def _scaled(x):\n    return x * FACTOR\n\n"
        "class Doubler(BaseEstimator, TransformerMixin):\n"
        "    def fit(self, X, y=None):\n        return self\n"
        "    def transform(self, X):\n        return np.asarray(_scaled(X[list(NAMES)]), dtype=float)\n",
    )
    doubler = run(shell, "Doubler()")
    captured = capture_source([type(doubler)], history=[])
    assert captured.definitions == ["_scaled", "Doubler"]
    assert "import numpy as np" in captured.source and "from sklearn.base import BaseEstimator" in captured.source
    assert "FACTOR = 2.5" in captured.source and "NAMES = ('a', 'b')" in captured.source
    assert captured.module_name.startswith("nb2prod_captured_")
    assert {"numpy", "sklearn"} <= captured.top_modules


def test_capture_refuses_lambdas_and_unwritable_globals(shell: object) -> None:
    f = run(shell, "square = lambda x: x * x\nsquare")
    with pytest.raises(InvalidInputError, match="lambda"):
        capture_source([f])
    g = run(shell, "import threading\nLOCK = threading.Lock()\ndef locked(x):\n    with LOCK:\n        return x\nlocked")
    with pytest.raises(InvalidInputError, match="'LOCK' of type lock"):
        capture_source([g])


def test_capture_uses_the_definition_the_object_was_built_from(shell: object) -> None:
    run(shell, "class Versioned:\n    def answer(self):\n        return 1\n")
    old = run(shell, "Versioned")
    run(shell, "class Versioned:\n    def answer(self):\n        return 2\n")
    assert "return 1" in capture_source([old]).source  # the cell the old class came from, not the latest


def test_calibration_map_lets_scores_alone_estimate_the_holdout_accuracy() -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from nb2prod.monitor.estimate import calibrated, estimate_accuracy
    from nb2prod.package.evaluate import calibration_map, describe_model

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=4000), "b": rng.normal(size=4000)})
    y = (frame.a + 0.5 * frame.b + rng.normal(size=4000) > 0).astype(int).to_numpy()
    model = LogisticRegression().fit(frame[:2000], y[:2000])
    curve = calibration_map(model, frame[2000:], y[2000:], describe_model(model))
    assert curve is not None and curve["n"] == 2000
    decided = model.predict(frame[2000:]) == 1
    estimate, low, high = estimate_accuracy(calibrated(model.predict_proba(frame[2000:])[:, 1], curve), decided)
    actual = float(np.mean(decided == (y[2000:] == 1)))
    assert abs(estimate - actual) < 0.01 and low < actual < high
    assert calibration_map(model, frame[:40], y[:40], describe_model(model)) is None  # too few rows to calibrate
    regression = LinearRegression().fit(frame, y.astype(float))
    assert calibration_map(regression, frame, y, describe_model(regression)) is None
