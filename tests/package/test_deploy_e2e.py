"""End to end: the example notebook's model deployed with %deploy in a temp BENTOML_HOME, served,
queried; then refusals (schema change, validation gate, bad inputs, port in use) leave nothing behind.

One deploy (module fixture) is shared: building and serving a Bento costs tens of seconds here.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_shell import run

from nb2prod.api import Workspace
from nb2prod.errors import ConflictError, GateRefusedError, InvalidInputError, UsageError
from nb2prod.models import DeployResult, VersionState

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "example_notebooks" / "credit_default.ipynb"


def _post(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _run_example(sh: Any, n_samples: int = 3000) -> None:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "out = Path(output_dir)" in cell.source:
            continue
        run(sh, cell.source.replace("n_samples = 20_000", f"n_samples = {n_samples}"))


@pytest.fixture(scope="module")
def deployed(shell: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("deploy-home") / ".nb2prod"  # hidden, like the default ~/.nb2prod (BentoML is picky)
    home.mkdir()
    saved = {k: os.environ.get(k) for k in ("NB2PROD_HOME", "BENTOML_HOME", "BENTOML_DO_NOT_TRACK")}
    os.environ.update({"NB2PROD_HOME": str(home), "BENTOML_HOME": str(home / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"})
    ws = Workspace.open(home)
    try:
        _run_example(shell)
        result = run(
            shell,
            f"%deploy model --name credit --data X_train --target y_train --holdout X_test y_test "
            f"--protected gender --serve --notebook {NOTEBOOK} --quiet",
        )
        assert isinstance(result, DeployResult), "the magic printed an error instead of deploying"
        yield {"ws": ws, "home": home, "result": result, "shell": shell}
    finally:
        ws.stop()
        ws.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_deploy_writes_the_contract_folder_and_registers_a_live_version(deployed: dict[str, Any]) -> None:
    result: DeployResult = deployed["result"]
    ws: Workspace = deployed["ws"]
    folder = Path(result.deployment_dir)
    assert folder == deployed["home"] / "deployments" / "credit" / result.version_id
    for name in ("deployment.json", "model/model.pkl", "model/nb_captured.py", "model/baseline.pkl", "sample.json",
                 "reference.json", "requirements.lock", "service.py", "bentofile.yaml", ".bentoignore",
                 "k8s/deployment.yaml", "k8s/service.yaml", "k8s/hpa.yaml"):
        assert (folder / name).is_file(), name
    config = json.loads((folder / "deployment.json").read_text())
    assert config["task"] == "binary" and config["classes"] == [0, 1] and config["protected"] == ["gender"]
    assert [f["name"] for f in config["features"]][:2] == ["age", "income"]
    assert config["fallback"]["strategy"] == "baseline"
    assert config["calibration"]["n"] > 0 and len(config["calibration"]["scores"]) == len(config["calibration"]["rates"])
    assert "class AffordabilityRatios" in (folder / "model" / "nb_captured.py").read_text()
    assert result.captured == ["AffordabilityRatios"]
    assert result.proof["ok"] and result.proof["rows"] == 200
    assert result.metrics["roc_auc"] > 0.7
    lock = (folder / "requirements.lock").read_text()
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in lock and "# nb2prod environment lock: python 3." in lock
    [local] = [w for w in result.warnings if "local folder" in w]  # these tests run an editable nb2prod
    record = ws.store.registry.get(result.version_id)
    assert "nb2prod (" in local and "--wheel" in local and record.environment["local_sources"]["nb2prod"]
    assert ws.store.registry.state(result.version_id) is VersionState.LIVE
    assert ws.store.registry.traffic("credit").live == result.version_id
    assert record.model_hash and record.data_fingerprint["train_sha256"] and record.environment["packages"]
    assert record.code_fingerprint["notebook_sha256"] and record.code_fingerprint["captured_sha256"]
    assert record.extra["variables"] == {"model": "model", "data": "X_train", "target": "y_train",
                                         "holdout_data": "X_test", "holdout_target": "y_test"}
    assert record.params["seed"] == 42 and record.params["n_samples"] == 3000
    assert record.extra["predict_path"]["predict_path"] == "numpy", record.extra["predict_path"]  # proven in the fresh process
    assert record.lint.get("status")  # checked, or why not
    bento_home = deployed["home"] / "bentoml"
    model_yaml = bento_home / "models" / "credit" / record.model_tag.split(":")[1] / "model.yaml"
    assert model_yaml.is_file() and result.version_id in model_yaml.read_text()  # labels/metadata on the BentoML model
    assert (bento_home / "bentos" / "credit" / record.bento_tag.split(":")[1] / "bento.yaml").is_file()


def test_served_predictions_match_the_kernel_and_carry_the_version(deployed: dict[str, Any]) -> None:
    result: DeployResult = deployed["result"]
    assert result.url and result.url.startswith("http://127.0.0.1:")
    sample = json.loads((Path(result.deployment_dir) / "sample.json").read_text())
    status, body = _post(result.url + "/predict_batch", {"rows": sample["rows"][:20]})
    assert status == 200, body
    assert [p["prediction"] for p in body["predictions"]] == sample["predictions"][:20]
    assert [p["probability"] for p in body["predictions"]] == pytest.approx(sample["scores"][:20], abs=1e-9)
    assert all(p["version_id"] == result.version_id and not p["fallback"] for p in body["predictions"])
    odd = dict(sample["rows"][0], age=120, purpose="yacht")
    status, body = _post(result.url + "/predict", {"features": odd})
    assert status == 200, body
    assert body["violations"] == ["age: 120 above training max 75", "purpose: 'yacht' not seen in training"]


def test_bad_payload_is_a_4xx_naming_the_fields(deployed: dict[str, Any]) -> None:
    url = deployed["result"].url
    sample = json.loads((Path(deployed["result"].deployment_dir) / "sample.json").read_text())
    bad = dict(sample["rows"][0], age="old")
    del bad["income"]
    status, body = _post(url + "/predict", {"features": bad})
    assert 400 <= status < 500
    fields = {tuple(d["loc"])[-1] for d in body["detail"]}
    assert {"age", "income"} <= fields
    status, _ = _post(url + "/predict", {"nope": []})
    assert 400 <= status < 500


def _nothing_new(ws: Workspace, home: Path, before: set[str]) -> None:
    assert {r.version_id for r, _ in ws.store.registry.versions("credit")} == before
    # the cluster manifests (k8s/, k8s.json) sit beside the version folders and follow every deploy
    folders = {p.name for p in (home / "deployments" / "credit").iterdir()} - {"k8s", "k8s.json"}
    assert folders == before


def test_schema_change_is_refused_unless_allowed(deployed: dict[str, Any]) -> None:
    ws, home = deployed["ws"], deployed["home"]
    sh = deployed["shell"]
    before = {r.version_id for r, _ in ws.store.registry.versions("credit")}
    run(sh, "X_small = X_train.drop(columns=['region'])\nX_small_test = X_test.drop(columns=['region'])")
    run(sh, "from sklearn.ensemble import HistGradientBoostingClassifier as _H\n"
            "small = _H(max_iter=20).fit(X_small.select_dtypes('number'), y_train)")
    ns = sh.user_ns
    with pytest.raises(GateRefusedError, match="input schema of credit differs") as info:
        ws.deploy(ns["small"], name="credit", data=ns["X_small"].select_dtypes("number"), target=ns["y_train"])
    assert "removed column 'region'" in info.value.evidence["changes"]
    _nothing_new(ws, home, before)


def test_validation_gate_failure_is_refused_with_evidence(deployed: dict[str, Any]) -> None:
    ws, home, sh = deployed["ws"], deployed["home"], deployed["shell"]
    before = {r.version_id for r, _ in ws.store.registry.versions("credit")}
    ns = sh.user_ns
    with pytest.raises(GateRefusedError, match=r"validation gate refused credit: roc_auc .* < required 0.99") as info:
        ws.deploy(ns["model"], name="credit", data=ns["X_train"], target=ns["y_train"], holdout=(ns["X_test"], ns["y_test"]),
                  min_metric=["roc_auc=0.99"])
    assert info.value.evidence["checks"][0]["metric"] == "roc_auc"
    # default gate: a much worse model than the live one is refused too
    run(sh, "from sklearn.dummy import DummyClassifier\nworse = DummyClassifier().fit(X_train, y_train)")
    with pytest.raises(GateRefusedError, match="worse than live"):
        ws.deploy(ns["worse"], name="credit", data=ns["X_train"], target=ns["y_train"], holdout=(ns["X_test"], ns["y_test"]))
    _nothing_new(ws, home, before)
    assert any(e.action == "gate_refused" for e in ws.store.registry.events("credit"))


def test_bad_inputs_are_one_line_errors_and_leave_nothing(deployed: dict[str, Any]) -> None:
    ws, home, sh = deployed["ws"], deployed["home"], deployed["shell"]
    ns = sh.user_ns
    before = {r.version_id for r, _ in ws.store.registry.versions("credit")}
    run(sh, "from sklearn.linear_model import LogisticRegression\nunfitted = LogisticRegression()")
    cases = [
        (InvalidInputError, "is not fitted", lambda: ws.deploy(ns["unfitted"], name="credit", data=ns["X_train"])),
        (InvalidInputError, "not a model", lambda: ws.deploy(ns["X_train"], name="credit", data=ns["X_train"])),
        (UsageError, "not allowed", lambda: ws.deploy(ns["model"], name="Credit Model!", data=ns["X_train"])),
        (InvalidInputError, "cannot predict on the data",
         lambda: ws.deploy(ns["model"], name="credit", data=ns["X_train"].drop(columns=["income"]))),
        (InvalidInputError, "target has", lambda: ws.deploy(ns["model"], name="credit", data=ns["X_train"], target=ns["y_test"])),
        (UsageError, "is not a wheel file", lambda: ws.deploy(ns["model"], name="credit", data=ns["X_train"], wheels=[home / "nope.whl"])),
    ]
    for kind, message, call in cases:
        with pytest.raises(kind, match=message) as info:
            call()
        assert "\n" not in str(info.value) and info.value.fix
    _nothing_new(ws, home, before)


def test_port_in_use_is_a_conflict_and_leaves_nothing(deployed: dict[str, Any]) -> None:
    ws, home, sh = deployed["ws"], deployed["home"], deployed["shell"]
    before = {r.version_id for r, _ in ws.store.registry.versions("credit")}
    busy = int(deployed["result"].url.rsplit(":", 1)[1])
    with pytest.raises(ConflictError, match=f"port {busy} on 127.0.0.1 is in use"):
        ws.deploy(sh.user_ns["model"], name="credit", data=sh.user_ns["X_train"], serve=True, port=busy)
    _nothing_new(ws, home, before)


def test_magic_errors_are_one_line(deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB2PROD_HOME", str(deployed["home"]))
    sh = deployed["shell"]
    assert run(sh, "%deploy model --name credit --data nope") is None
    assert run(sh, "%deploy model --name 'Bad Name' --data X_train") is None
    assert run(sh, "%deploy model --data X_train") is None
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 3 and all(ln.startswith("error: ") for ln in lines)
    assert "no variable named 'nope'" in lines[0] and "not allowed" in lines[1]


def test_cli_versions_serve_and_stop(deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from nb2prod.cli import main

    home = str(deployed["home"])
    result: DeployResult = deployed["result"]
    assert main(["--home", home, "versions", "credit"]) == 0
    assert result.version_id in capsys.readouterr().out
    assert main(["--home", home, "serve", f"credit:{result.version_id}"]) == 0  # already running: same URL
    assert result.url in capsys.readouterr().out
    assert main(["--home", home, "versions", "nope"]) == 3
    assert main(["--home", home, "serve", "Bad:x"]) == 2
    assert main(["--home", home, "stop", "credit"]) == 0
    assert "stopped" in capsys.readouterr().out
    assert deployed["ws"].services() == []
    with socket.socket() as holder:  # serving on a port in use: exit code 4 (conflict), one line
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        assert main(["--home", home, "serve", "credit", "--port", str(holder.getsockname()[1])]) == 4
    assert capsys.readouterr().err.startswith("error: port ")
    runs_before = len(deployed["ws"].runs(limit=1000))  # a bad --wheel is refused before the notebook runs:
    assert main(["--home", home, "deploy", str(NOTEBOOK), "--name", "credit", "--wheel", str(deployed["home"] / "nope.whl")]) == 2
    assert "is not a wheel file" in capsys.readouterr().err
    assert len(deployed["ws"].runs(limit=1000)) == runs_before  # no run recorded


def test_a_model_that_differs_in_a_fresh_process_is_refused_and_rolled_back(deployed: dict[str, Any]) -> None:
    """The fresh-process proof fails → the folder, the BentoML model/Bento and registry rows are gone."""
    ws, home, sh = deployed["ws"], deployed["home"], deployed["shell"]
    run(
        sh,
        "import numpy as _np\n"
        "from sklearn.base import BaseEstimator, ClassifierMixin\n"
        "class Noisy(BaseEstimator, ClassifierMixin):\n"
        "    def fit(self, X, y):\n"
        "        self.classes_ = _np.array([0, 1])\n"
        "        return self\n"
        "    def predict_proba(self, X):\n"
        "        p = _np.random.default_rng().random(len(X))\n"
        "        return _np.column_stack([1 - p, p])\n"
        "    def predict(self, X):\n"
        "        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)\n"
        "noisy = Noisy().fit(X_train, y_train)\n",
    )
    ns = sh.user_ns
    with pytest.raises(InvalidInputError, match="predicts differently in a fresh process"):
        ws.deploy(ns["noisy"], name="noisy", data=ns["X_train"], target=ns["y_train"])
    assert not (home / "deployments" / "noisy").exists()
    assert ws.store.registry.versions("noisy") == []
    assert not (home / "bentoml" / "models" / "noisy").exists() or not any(
        p.is_dir() for p in (home / "bentoml" / "models" / "noisy").iterdir()
    )
    assert not (home / "bentoml" / "bentos" / "noisy").exists() or not any(
        p.is_dir() for p in (home / "bentoml" / "bentos" / "noisy").iterdir()
    )


def test_deploy_as_shadow_keeps_live_and_shadows_it(deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ws, sh = deployed["ws"], deployed["shell"]
    monkeypatch.setenv("NB2PROD_HOME", str(deployed["home"]))  # %deploy opens the workspace from the environment
    monkeypatch.setenv("BENTOML_HOME", str(deployed["home"] / "bentoml"))
    live_before = ws.store.registry.traffic("credit").live
    wheel = deployed["home"] / "dist" / "nb2prod-0.1.0-py3-none-any.whl"  # BentoML copies wheels into the Bento as they are
    wheel.parent.mkdir(exist_ok=True)
    wheel.write_bytes(b"PK\x05\x06" + bytes(18))
    result = run(sh, f"%deploy model --name credit --data X_train --target y_train --holdout X_test y_test "
                     f"--protected gender --favorable 0 --shadow 50 --notebook {NOTEBOOK} --wheel {wheel} --quiet")
    assert isinstance(result, DeployResult)
    folder = Path(result.deployment_dir)
    assert "nb2prod==" not in (folder / "requirements.lock").read_text() and (folder / "wheels" / wheel.name).is_file()
    assert f'"wheels/{wheel.name}"' in (folder / "bentofile.yaml").read_text()  # the folder is self-contained
    assert not [w for w in result.warnings if "local folder" in w]  # the wheel covers the editable nb2prod
    bento = deployed["home"] / "bentoml" / "bentos" / "credit" / ws.store.registry.get(result.version_id).bento_tag.split(":")[1]
    assert (bento / "env" / "python" / "wheels" / wheel.name).is_file()
    traffic = ws.store.registry.traffic("credit")
    assert traffic.live == live_before and traffic.shadow == result.version_id and traffic.shadow_percent == 50.0
    assert ws.store.registry.state(result.version_id) == VersionState.SHADOW
    assert ws.store.registry.state(live_before) == VersionState.LIVE
    assert json.loads((Path(result.deployment_dir) / "deployment.json").read_text())["favorable"] == 0
    event = ws.store.registry.events("credit")[0]
    assert event.action == "shadow" and event.evidence["percent"] == 50.0
    with pytest.raises(GateRefusedError, match="only 0 shadowed requests"):  # no evidence yet: the gate blocks
        ws.promote(f"credit:{result.version_id}")


def test_schema_change_deploys_only_with_allow_schema_change(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """%deploy end to end: the same schema change is refused without the flag and deployed with it.

    Last in this module: it replaces the live version with one whose inputs lack ``region``.
    """
    ws, home, sh = deployed["ws"], deployed["home"], deployed["shell"]
    monkeypatch.setenv("NB2PROD_HOME", str(home))  # %deploy opens the workspace from the environment
    monkeypatch.setenv("BENTOML_HOME", str(home / "bentoml"))
    run(sh, "from sklearn.ensemble import HistGradientBoostingClassifier as _H\n"
            "X_narrow = X_train.drop(columns=['region']).select_dtypes('number')\n"
            "narrow = _H(max_iter=20).fit(X_narrow, y_train)")
    live_before = ws.store.registry.traffic("credit").live
    before = {r.version_id for r, _ in ws.store.registry.versions("credit")}
    deploy = f"%deploy narrow --name credit --data X_narrow --target y_train --notebook {NOTEBOOK} --quiet"
    assert run(sh, deploy) is None
    assert "input schema of credit differs" in capsys.readouterr().err
    _nothing_new(ws, home, before)
    assert ws.store.registry.traffic("credit").live == live_before

    result = run(sh, deploy + " --allow-schema-change")
    assert isinstance(result, DeployResult), capsys.readouterr().err
    [changed] = [w for w in result.warnings if w.startswith(f"input schema changed vs {live_before} (allowed)")]
    assert "removed column 'region'" in changed
    features = [f["name"] for f in json.loads((Path(result.deployment_dir) / "deployment.json").read_text())["features"]]
    assert features == list(sh.user_ns["X_narrow"].columns) and "region" not in features
    assert [f["name"] for f in ws.store.registry.get(result.version_id).schema["features"]] == features
    assert ws.store.registry.traffic("credit").live == result.version_id
    assert result.proof["ok"]  # the new schema's sample rows answered in a fresh process
