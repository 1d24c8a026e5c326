"""End to end through the CLI on small notebooks of ours (tests/package/notebooks/): a regressor, a
classifier without predict_proba, an outlier detector fitted on an array and a notebook reading a CSV by a
relative path are deployed with
``nb2prod deploy … --serve``; the service's answers equal the notebook's ``model.predict`` on the
test rows; monitoring works on the regression; failed deploys say what is wrong in one line.

Each deploy builds a Bento (~15 s here): keep this file to a few of them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from nb2prod.api import Workspace
from nb2prod.package.service_token import read_token

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"




def _cli(home: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    from nb2prod.cli import main

    code = main(["--home", str(home), *args])
    out = capsys.readouterr()
    return code, json.loads(out.out) if "--json" in args and out.out.strip() else out.out, out.err


def _notebook_namespace(notebook: Path) -> dict[str, Any]:
    """The notebook's variables, from running its code cells here, in its folder (as a kernel would)."""
    import nbformat

    namespace: dict[str, Any] = {}
    before = Path.cwd()
    os.chdir(notebook.parent)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its prints are not the CLI's JSON
            for cell in nbformat.read(notebook, as_version=4).cells:
                if cell.cell_type == "code":
                    exec(compile(cell.source, str(notebook), "exec"), namespace)
    finally:
        os.chdir(before)
    return namespace


def _post(url: str, body: Any, token: str | None = None) -> Any:
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{url}: HTTP {exc.code}: {exc.read()[:500]!r}") from None


def _deploy_and_compare(home: Path, notebook: Path, name: str, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    """Deploy with the CLI, then check every test row's served answer against the notebook's model.predict."""
    code, result, err = _cli(home, "deploy", str(notebook), "--name", name, "--holdout", "X_test", "y_test", "--serve", "--json",
                             *extra, capsys=capsys)
    assert code == 0, (result, err)
    assert result["proof"]["ok"] and result["url"]
    ns = _notebook_namespace(notebook)
    x_test, model = ns["X_test"], ns["model"]
    answers = _post(result["url"] + "/predict_batch", {"rows": x_test.to_dict("records")})["predictions"]
    expected = [v.item() if hasattr(v, "item") else v for v in model.predict(x_test)]
    by_model = [(a, e) for a, e in zip(answers, expected, strict=True) if not a["fallback"]]
    assert all(a["prediction"] == e for a, e in by_model), [(a["prediction"], e) for a, e in by_model if a["prediction"] != e][:3]
    # the rest are guardrail refusals of test values outside the training range, never model errors
    assert all(a["fallback_reason"].startswith("guardrails:") and a["violations"] for a in answers if a["fallback"])
    assert len(by_model) >= 0.85 * len(answers)
    return {"result": result, "answers": answers, "ns": ns}


def test_a_regressor_deploys_answers_its_value_with_an_interval_and_is_monitored(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = NOTEBOOKS / "diabetes_ridge.ipynb"
    run = _deploy_and_compare(home, notebook, "diabetes", capsys, "--protected", "sex")
    result, answers, ns = run["result"], run["answers"], run["ns"]
    spec = json.loads((Path(result["deployment_dir"]) / "deployment.json").read_text())
    assert spec["task"] == "regression" and spec["classes"] is None and spec["interval"]["level"] == 0.9
    assert set(result["metrics"]) == {"rmse", "mae", "r2"}
    mine = [a for a in answers if not a["fallback"]]
    assert all(a["score_source"] == "predict" and a["probability"] is None and a["score"] == a["prediction"] for a in mine)
    low, high = spec["interval"]["low"], spec["interval"]["high"]
    assert all(a["interval"] == pytest.approx([a["prediction"] + low, a["prediction"] + high]) for a in mine)
    labels = ns["y_test"].tolist()
    for answer, label in zip(answers, labels, strict=True):
        _post(result["url"] + "/feedback", {"request_id": answer["request_id"], "label": float(label)}, token=read_token(home))

    deadline = time.monotonic() + 30
    while True:  # the audit rows reach the store off the request path
        code, report, err = _cli(home, "monitor", "diabetes", "--json", capsys=capsys)
        assert code == 0, err
        if report["concept"]["n_labelled"] == len(labels) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert report["concept"]["metric"] == "rmse" and report["concept"]["n_labelled"] == len(labels)
    assert report["concept"]["validation"] == pytest.approx(result["metrics"]["rmse"])
    assert report["fairness"] is None and any("regression" in note for note in report["notes"])
    code, _, err = _cli(home, "monitor", "diabetes", capsys=capsys)  # the text report too
    assert code == 0, err


def test_an_svc_without_predict_proba_answers_with_predict_and_its_margin(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _deploy_and_compare(home, NOTEBOOKS / "cancer_svc.ipynb", "cancer", capsys)
    model, x_test = run["ns"]["model"], run["ns"]["X_test"]
    margins = model.decision_function(x_test)
    for answer, margin in zip(run["answers"], margins, strict=True):
        if not answer["fallback"]:
            assert answer["score_source"] == "decision_function" and answer["probability"] is None
            assert answer["score"] == pytest.approx(float(margin))
    assert "roc_auc" in run["result"]["metrics"] and "log_loss" not in run["result"]["metrics"]


def test_an_outlier_detector_fitted_on_an_array_answers_its_predict_quietly(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """IsolationForest on an ndarray: a binary model of its own -1/1 labels, scored by its decision_function, answering
    every test row as the notebook's predict; fitted on an array it is served an array, so its service log has no
    per-request "fitted without feature names" warning."""
    notebook = NOTEBOOKS / "blobs_isolation_forest.ipynb"
    code, result, err = _cli(home, "deploy", str(notebook), "--name", "blobs", "--holdout", "X_test", "y_test", "--serve", "--json",
                             capsys=capsys)
    assert code == 0, (result, err)
    assert result["proof"]["ok"] and {"roc_auc", "accuracy"} <= set(result["metrics"])
    ns = _notebook_namespace(notebook)
    model, x_test = ns["model"], ns["X_test"]
    rows = [{f"f{i}": float(v) for i, v in enumerate(row)} for row in x_test]
    answers = _post(result["url"] + "/predict_batch", {"rows": rows})["predictions"]
    assert [a["prediction"] for a in answers] == model.predict(x_test).tolist() and not any(a["fallback"] for a in answers)
    assert [a["score"] for a in answers] == pytest.approx(model.decision_function(x_test).tolist())
    assert {a["score_source"] for a in answers} == {"decision_function"}
    spec = json.loads((Path(result["deployment_dir"]) / "deployment.json").read_text())
    assert (spec["task"], spec["classes"], spec["positive_class"]) == ("binary", [-1, 1], 1)
    log = (Path(result["deployment_dir"]) / "serve.log").read_text()
    assert "fitted without feature names" not in log and "canary failed" not in log


def test_a_notebook_reading_a_relative_csv_deploys_from_its_own_folder(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = NOTEBOOKS / "csv_data" / "wine_linearsvc.ipynb"
    assert (notebook.parent / "data" / "wine.csv").is_file()
    run = _deploy_and_compare(home, notebook, "wine", capsys)
    assert {a["prediction"] for a in run["answers"]} <= {"barolo", "grignolino", "barbera"}
    assert {a["score_source"] for a in run["answers"] if not a["fallback"]} == {"decision_function"}
    spec = json.loads((Path(run["result"]["deployment_dir"]) / "deployment.json").read_text())
    assert spec["task"] == "multiclass" and spec["score"] == "decision_function"
    assert not list((home / "tmp").glob("deploy-*"))  # no work copy left behind


def test_failed_deploys_answer_json_on_stdout_and_name_real_options(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, error, err = _cli(home, "deploy", str(NOTEBOOKS / "diabetes_ridge.ipynb"), "--name", "nomodel", "--model", "regressor",
                            "--json", capsys=capsys)
    assert code == 2 and error["ok"] is False and error["error"] == "usage"
    assert error["message"] == "the notebook defines no variable named 'regressor'" and "--model" in error["fix"]
    assert err.startswith("error: the notebook defines no variable") and "Traceback" not in err

    broken = tmp_path / "reads_missing.ipynb"
    source = json.loads((NOTEBOOKS / "diabetes_ridge.ipynb").read_text())
    source["cells"].append({"cell_type": "code", "id": "missing", "metadata": {}, "outputs": [], "execution_count": None,
                            "source": "import pandas as pd\nextra = pd.read_csv('data/absent.csv')"})
    broken.write_text(json.dumps(source))
    code, error, _ = _cli(home, "deploy", str(broken), "--name", "broken", "--json", capsys=capsys)
    assert code != 0 and error["ok"] is False and "missing-file" in error["message"]
    assert "deploy-" not in error["message"]  # linted where it is, not as a copy in a temp folder
    assert "--lint-fail-on never" in error["fix"]
    code, _, _ = _cli(home, "deploy", str(broken), "--name", "broken", "--lint-fail-on", "never", "--help", capsys=capsys)
    assert code == 0  # the option the refusal names is one deploy has


def test_a_failed_build_names_a_log_that_still_exists(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nb2prod.adapters import bento
    from nb2prod.errors import ServiceError

    class FailingBuild:
        def __init__(self, log_file: Path) -> None:
            self.log_file = log_file

        def wait(self) -> dict[str, str]:
            raise ServiceError("bentoml build failed: boom", fix=f"see the build log {self.log_file}")

        def cancel(self) -> None:
            pass

    def failing_build(folder: Path, *, log_file: Path, **_: Any) -> FailingBuild:
        log_file.write_text("building\nboom\n")
        return FailingBuild(log_file)

    monkeypatch.setattr(bento, "start_build", failing_build)
    ns = _notebook_namespace(NOTEBOOKS / "diabetes_ridge.ipynb")
    with Workspace.open(home) as ws, pytest.raises(ServiceError) as info:
        ws.deploy(ns["model"], name="buildfails", data=ns["X_train"], target=ns["y_train"])
    log = Path((info.value.fix or "").split("see the build log ")[-1])
    assert log.is_file() and "boom" in log.read_text(), info.value.fix
    assert not (home / "deployments" / "buildfails").exists()  # the folder is gone, its log is kept
