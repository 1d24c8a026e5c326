"""End to end through the CLI, one small notebook of ours per framework and input kind
(tests/package/notebooks/): XGBoost (multiclass, category column, NaN), LightGBM (regression, category
columns, NaN), CatBoost (string categoricals; where installed) and a scikit-learn pipeline on a
text column, a datetime column, a string category and missing numbers. Each is deployed with
``nb2prod deploy … --serve``; the service answers every test row — rows with missing values
included — exactly as the notebook's ``model.predict``, from the model (no guardrail fallback).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"




def _namespace(notebook: Path) -> dict[str, Any]:
    import nbformat

    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(notebook), "exec"), namespace)
    return namespace


def _post(url: str, body: Any) -> Any:
    headers = {"content-type": "application/json"}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{url}: HTTP {exc.code}: {exc.read()[:500]!r}") from None


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else value


def _deploy(home: Path, notebook: Path, name: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    from nb2prod.cli import main

    code = main(["--home", str(home), "deploy", str(notebook), "--name", name, "--holdout", "X_test", "y_test", "--serve", "--json"])
    out = capsys.readouterr()
    result = json.loads(out.out) if out.out.strip() else {}
    assert code == 0, (result, out.err[-2000:])
    assert result["proof"]["ok"] and result["url"]
    ns = _namespace(notebook)
    x_test, model = ns["X_test"], ns["model"]
    rows = [{k: _plain(v) for k, v in row.items()} for row in x_test.to_dict("records")]
    answers = _post(result["url"] + "/predict_batch", {"rows": rows})["predictions"]
    expected = [_plain(v) for v in model.predict(x_test).ravel()]
    assert [a["prediction"] for a in answers] == pytest.approx(expected, rel=1e-9) if isinstance(expected[0], float) else expected
    assert not [a for a in answers if a["fallback"]], [a["fallback_reason"] for a in answers if a["fallback"]][:3]
    missing = [i for i, row in enumerate(rows) if any(v is None for v in row.values())]
    return {"result": result, "answers": answers, "ns": ns, "rows": rows, "missing": missing,
            "spec": json.loads((Path(result["deployment_dir"]) / "deployment.json").read_text())}


def test_xgboost_multiclass_on_a_category_column_with_missing_values(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("xgboost")
    run = _deploy(home, NOTEBOOKS / "xgboost_shop.ipynb", "xgb-shop", capsys)
    assert run["missing"]  # rows with NaN reached the model and answered as in the notebook
    assert (Path(run["result"]["deployment_dir"]) / "model" / "model.ubj").is_file()
    assert run["spec"]["task"] == "multiclass" and {"recall_min", "recall.0"} <= set(run["result"]["metrics"])
    channel = next(f for f in run["spec"]["features"] if f["name"] == "channel")
    assert channel["frame_dtype"] == "category" and channel["frame_categories"] == ["phone", "shop", "web"]


def test_lightgbm_regression_takes_a_null_the_training_data_never_had(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lightgbm")
    run = _deploy(home, NOTEBOOKS / "lightgbm_shop.ipynb", "lgbm-shop", capsys)
    assert run["missing"] and (Path(run["result"]["deployment_dir"]) / "model" / "model.txt").is_file()
    items = next(f for f in run["spec"]["features"] if f["name"] == "items")
    assert not items["nullable"] and items["guard"]["rejects"] == []  # LightGBM takes NaN natively
    row = dict(run["rows"][0], items=None)
    answer = _post(run["result"]["url"] + "/predict", {"features": row})
    expected = run["ns"]["model"].predict(run["ns"]["X_test"].head(1).assign(items=float("nan")))[0]
    assert not answer["fallback"] and answer["prediction"] == pytest.approx(float(expected))
    assert answer["violations"] == ["items: missing value"]


def test_catboost_on_string_categoricals(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("catboost")
    run = _deploy(home, NOTEBOOKS / "catboost_shop.ipynb", "cat-shop", capsys)
    assert (Path(run["result"]["deployment_dir"]) / "model" / "model.cbm").is_file()
    assert run["spec"]["task"] == "binary" and set(run["spec"]["classes"]) == {"churn", "keep"}


def test_a_text_pipeline_with_datetime_and_missing_values(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _deploy(home, NOTEBOOKS / "reviews_text_dates.ipynb", "reviews", capsys)
    assert run["missing"]
    kinds = {f["name"]: (f["dtype"], f["frame_dtype"]) for f in run["spec"]["features"]}
    assert kinds["review"] == ("string", "object") and kinds["posted"] == ("datetime", "datetime64[ns]")
    # the datetime arrives as ISO-8601 with an offset and is parsed back to the training wall time in UTC
    row = dict(run["rows"][0], posted="2024-06-01T12:30:00+02:00")
    answer = _post(run["result"]["url"] + "/predict", {"features": row})
    frame = run["ns"]["X_test"].head(1).copy()
    frame["posted"] = pd.to_datetime(["2024-06-01T10:30:00"]).astype("datetime64[ns]").to_numpy()
    assert answer["prediction"] == run["ns"]["model"].predict(frame)[0] and not answer["fallback"]
    # monitoring compares the timestamp by its parts and the review by its lengths, never raw (no "always drifted")
    import time

    from nb2prod.cli import main

    deadline = time.monotonic() + 30
    while True:  # the audit rows reach the store off the request path
        code = main(["--home", str(home), "drift", "reviews", "--window", "1h", "--json"])
        drift = json.loads(capsys.readouterr().out)
        waiting = code != 0 and drift.get("error") == "not_found"  # no row stored yet
        assert code == 0 or (waiting and time.monotonic() < deadline), drift
        if not waiting and (drift["n_current"] >= len(run["rows"]) or time.monotonic() > deadline):
            break
        time.sleep(0.5)
    features = {f["feature"]: f for f in drift["features"]}
    assert {"posted.hour", "posted.weekday", "posted.month", "review.chars", "review.words", "store"} <= set(features)
    assert "posted" not in features and "review" not in features
    assert features["posted.hour"]["n_current"] == len(run["rows"]) + 1  # the test rows and the one with an offset
    assert not any(features[f]["drifted"] for f in ("posted.weekday", "posted.month", "review.chars", "review.words", "review.oov"))

    # reviews arriving in another language: the same lengths, words the model never saw — vocabulary drift
    foreign = ["lieferung war schnell und freundlich", "paket kam kaputt an", "sehr gut danke", "artikel leider zu spät"]
    moved = [dict(r, review=foreign[i % len(foreign)]) for i, r in enumerate(run["rows"])]
    assert not [a for a in _post(run["result"]["url"] + "/predict_batch", {"rows": moved})["predictions"] if a["fallback"]]
    sent = [*run["rows"], row, *moved]
    deadline = time.monotonic() + 30
    while True:
        assert main(["--home", str(home), "drift", "reviews", "--window", "1h", "--json"]) == 0
        drift = json.loads(capsys.readouterr().out)
        if drift["n_current"] >= len(sent) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    features = {f["feature"]: f for f in drift["features"]}
    assert features["review.oov"]["drifted"] and features["review.oov"]["n_current"] == len(sent)
    # the exact row path over the same rows agrees with the profiles
    from nb2prod.monitor.drift import compute_drift

    reference = json.loads((Path(run["result"]["deployment_dir"]) / "reference.json").read_text())
    by_rows = {f.feature: f.drifted for f in compute_drift(reference, pd.DataFrame(sent)).features}
    assert by_rows["review.oov"] and by_rows["review.oov"] == features["review.oov"]["drifted"]


def test_an_ndarray_gridsearch_over_a_notebook_transformer_and_a_voting_classifier(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    notebook = NOTEBOOKS / "digits_search_voting.ipynb"
    ns = _namespace(notebook)
    x_test = pd.DataFrame(ns["X_test"], columns=[f"f{i}" for i in range(64)])
    from nb2prod.cli import main

    code = main(["--home", str(home), "deploy", str(notebook), "--name", "digits", "--holdout", "X_test", "y_test", "--serve", "--json"])
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert code == 0 and result["proof"]["ok"], (result, out.err[-2000:])
    metrics = result["metrics"]
    assert result["captured"] == ["InkScaler"] and metrics["recall_min"] == min(metrics[f"recall.{c}"] for c in range(10))
    rows = [{k: _plain(v) for k, v in row.items()} for row in x_test.to_dict("records")]
    answers = _post(result["url"] + "/predict_batch", {"rows": rows})["predictions"]
    assert [a["prediction"] for a in answers] == [int(v) for v in ns["model"].predict(ns["X_test"])]
    assert sum(a["fallback"] for a in answers) == 0 and sum(bool(a["violations"]) for a in answers) <= 0.005 * len(answers)
    assert np.allclose([a["score"] for a in answers], ns["model"].predict_proba(ns["X_test"]).max(axis=1))
