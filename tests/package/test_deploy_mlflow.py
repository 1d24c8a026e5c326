"""MLflow both ways, against a local SQLite tracking store in a temp folder: a scikit-learn model
logged to MLflow (with signature and input example) deploys from ``models:/NAME/VERSION`` through
the CLI and from ``runs:/ID/model`` through ``%deploy``; ``--mlflow`` logs the nb2prod version back,
and MLflow's own API reads it (params, metrics, tags, the version record, the model).

Two Bento builds and MLflow's store creation: ~1 min here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nb2prod.api import Workspace

pytestmark = pytest.mark.slow
mlflow = pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import mlflow.sklearn
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import train_test_split

    root = tmp_path_factory.mktemp("mlflow")
    home = root / ".nb2prod"
    uri = f"sqlite:///{root / 'mlflow.db'}"
    saved = {k: os.environ.get(k) for k in ("BENTOML_HOME", "BENTOML_DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY")}
    os.environ.update({"BENTOML_HOME": str(home / "bentoml"), "BENTOML_DO_NOT_TRACK": "True", "MLFLOW_DISABLE_TELEMETRY": "true"})
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    model = Ridge(alpha=0.5).fit(X_train, y_train)
    mlflow.set_tracking_uri(uri)
    mlflow.create_experiment("diabetes", artifact_location=(root / "artifacts").as_uri())  # not ./mlruns in the cwd
    mlflow.set_experiment("diabetes")
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="model", input_example=X_train.head(40), registered_model_name="diab",
                                 pip_requirements=["scikit-learn"])  # no requirement inference: it starts a subprocess
    try:
        yield {"home": home, "uri": uri, "run_id": run.info.run_id, "model": model, "X_train": X_train, "y_train": y_train,
               "X_test": X_test, "y_test": y_test}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_deploy_from_the_model_registry_and_log_the_version_back(logged: dict[str, Any], capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow import MlflowClient

    from nb2prod.cli import main
    from nb2prod.package.artifact import load_model

    home, uri = logged["home"], logged["uri"]
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root for a database store is ./mlruns: nb2prod must not use it
    code = main(["--home", str(home), "deploy", "models:/diab/1", "--name", "diab", "--mlflow-uri", uri, "--mlflow", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    deployed = load_model(result["deployment_dir"])
    assert list(deployed.predict(logged["X_test"])) == pytest.approx(list(logged["model"].predict(logged["X_test"])))
    with Workspace.open(home) as ws:
        record = ws.store.registry.get(result["version_id"])
    assert record.extra["source"] == "models:/diab/1" and [f["name"] for f in record.schema["features"]] == list(logged["X_train"])
    assert record.data_fingerprint["train_rows"] == 40  # the input example stood in for the training data

    # read back with MLflow's own API: the run, its params/metrics/tags, the record, the registered model
    client = MlflowClient(uri)
    run = client.get_run(result["mlflow"]["run_id"])
    assert run.data.tags["nb2prod.version_id"] == result["version_id"] and run.data.tags["nb2prod.name"] == "diab"
    assert run.data.params["deploy.source"] == "models:/diab/1" and run.data.params["deploy.fallback"] == "baseline"
    version_json = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="nb2prod/version.json"))
    assert json.loads(version_json.read_text())["model_hash"] == record.model_hash
    assert {str(v.version) for v in client.search_model_versions("name='diab'")} == {"1", "2"}  # nb2prod's version registered as 2
    relogged = mlflow.sklearn.load_model(result["mlflow"]["model_uri"])
    assert list(relogged.predict(logged["X_test"].head(5))) == pytest.approx(list(logged["model"].predict(logged["X_test"].head(5))))
    assert not (tmp_path / "mlruns").exists()
    assert client.get_experiment_by_name("nb2prod/diab").artifact_location.startswith(Path(uri[len("sqlite:///"):]).parent.as_uri())


def test_magic_deploys_a_run_s_model_with_the_notebook_s_data_and_gate(logged: dict[str, Any], shell: Any,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow import MlflowClient

    monkeypatch.setenv("NB2PROD_HOME", str(logged["home"]))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", logged["uri"])  # the default store when --mlflow-uri is not given
    shell.user_ns.update({k: logged[k] for k in ("X_train", "y_train", "X_test", "y_test")})
    result = shell.run_line_magic(
        "deploy", f"runs:/{logged['run_id']}/model --name diab-run --data X_train --target y_train --holdout X_test y_test "
                  "--min-metric r2=0.2 --mlflow --quiet")
    assert result is not None and result.metrics["r2"] > 0.2 and [c["metric"] for c in result.gate] == ["r2"]
    with Workspace.open(logged["home"]) as ws:
        record = ws.store.registry.get(result.version_id)
    assert record.extra["source"] == f"runs:/{logged['run_id']}/model" and record.data_fingerprint["train_rows"] == len(logged["X_train"])
    run = MlflowClient(logged["uri"]).get_run(record.extra["mlflow"]["run_id"])
    assert run.data.metrics["r2"] == pytest.approx(result.metrics["r2"]) and run.data.tags["nb2prod.gate"] == "passed"


def test_a_model_uri_mlflow_does_not_know_is_one_line(logged: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from nb2prod.cli import main

    code = main(["--home", str(logged["home"]), "deploy", "models:/nope/3", "--name", "nope", "--mlflow-uri", logged["uri"], "--json"])
    out = capsys.readouterr()
    assert code == 3 and json.loads(out.out)["error"] == "not_found" and "models:/nope/3" in json.loads(out.out)["message"]
    assert len(out.err.strip().splitlines()) == 1
