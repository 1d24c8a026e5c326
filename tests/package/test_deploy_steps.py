"""Each step of the deploy pipeline on its own (no Bento build, no kernel): the request and the flag
table both fronts share, validate, check, gates, capture + folder + spec, record, register, undo,
the notebook copy a CLI deploy executes, and the variable check that names the rebinding cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nb2prod.api import Workspace
from nb2prod.errors import ConflictError, InvalidInputError, UsageError
from nb2prod.models import VersionRecord, VersionState
from nb2prod.package.deploy import DEPLOY_OPTIONS, DeployInputs, DeployRequest
from nb2prod.package.deploy.check import check_inputs
from nb2prod.package.deploy.gates import run_gates
from nb2prod.package.deploy.register import register
from nb2prod.package.deploy.undo import Undo
from nb2prod.package.deploy.validate import validate
from nb2prod.package.deploy.variables import binding_cells, check_variables


@pytest.fixture(scope="module")
def fitted() -> dict[str, Any]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import train_test_split

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    labels = (y_train > y_train.median()).astype(int)
    return {
        "model": Ridge().fit(X_train, y_train), "X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test,
        "classifier": LogisticRegression(max_iter=500).fit(X_train, labels), "labels": labels,
    }


def _say(_: str) -> None:
    pass


# -- the request and the flag table --------------------------------------------------------------
def test_request_normalises_lists_and_round_trips_as_json() -> None:
    request = DeployRequest(name="credit", protected=["sex"], min_metric={"roc_auc": 0.7}, wheels=[Path("a.whl")],
                            holdout_vars=["X_test", "y_test"], favorable=0, parameters={"n": 3})  # type: ignore[arg-type]
    assert request.protected == ("sex",) and request.min_metric == ("roc_auc=0.7",) and request.wheels == ("a.whl",)
    assert request.holdout_vars == ("X_test", "y_test")
    assert DeployRequest.from_json(request.to_json()) == request
    assert request.variables == {"holdout_data": "X_test", "holdout_target": "y_test"}


@pytest.mark.parametrize(("options", "needle"), [
    ({"name": "a", "no_such": 1}, "unknown deploy option 'no_such'"),
    ({"protected": ["x"]}, "needs a name"),
    ({"name": "a", "cell": 3, "upto": "fit"}, "--cell and --upto"),
    ({"name": "a", "cell": 0}, "counts code cells from 1"),
    ({"name": "a", "lint_fail_on": "fatal"}, "unknown lint level"),
    ({"name": "a", "holdout_vars": ("X_test",)}, "holdout needs two variables"),
])
def test_bad_requests_are_one_line_usage_errors(options: dict[str, Any], needle: str) -> None:
    with pytest.raises(UsageError, match=needle.replace("(", r"\(")):
        DeployRequest.from_options(options)


@pytest.mark.parametrize(("options", "needle"), [
    ({"cell": 3}, "cell (--cell) steers a notebook run"),
    ({"upto": "fit"}, "upto (--upto) steers a notebook run"),
    ({"timeout_s": 60.0}, "timeout_s (--timeout) steers a notebook run"),
    ({"lint_fail_on": "never"}, "lint_fail_on (--lint-fail-on) steers a notebook run"),
])
def test_in_memory_deploys_refuse_the_notebook_run_options(workspace: Workspace, fitted: dict[str, Any],
                                                          options: dict[str, Any], needle: str) -> None:
    # with model=/data= there is no notebook run: a cell, tag, timeout or lint level would be silently ignored
    with pytest.raises(UsageError, match=needle.replace("(", r"\(").replace(")", r"\)")) as caught:
        workspace.deploy(fitted["model"], data=fitted["X_train"], target=fitted["y_train"], name="diabetes", **options)
    assert "deploy_notebook" in (caught.value.fix or "")
    assert workspace.store.registry.versions("diabetes") == []  # refused before anything was written
    with pytest.raises(UsageError, match="steers a notebook run"):  # a built request is held to the same rule
        workspace.deploy(fitted["model"], data=fitted["X_train"], request=DeployRequest(name="diabetes", **options))


def test_the_magic_and_the_cli_take_the_same_deploy_flags() -> None:
    from nb2prod.cli.deploy import deploy as cli_deploy
    from nb2prod.magics import _deploy_parser

    cli_flags = {flag for param in cli_deploy.params for flag in getattr(param, "opts", [])}
    magic_flags = {flag for action in _deploy_parser()._actions for flag in action.option_strings}
    both = {flag for o in DEPLOY_OPTIONS if {"magic", "cli"} <= o.fronts for flag in o.flags}
    assert both and both <= cli_flags and both <= magic_flags
    assert {"--cell", "--upto", "--lint-fail-on", "--timeout", "--model"} <= cli_flags  # the notebook run's own
    assert {"--notebook"} <= magic_flags


def test_the_magic_parser_builds_the_request_the_cli_would() -> None:
    from nb2prod.magics import _deploy_parser

    args = _deploy_parser().parse_args(["clf", "--name", "credit", "--data", "X", "--shadow", "--min-metric", "roc_auc=0.7",
                                        "--favorable", "0", "--holdout", "Xt", "yt", "--allow-schema-change"])
    options = {k: v for k, v in vars(args).items() if v is not None and k not in {"quiet", "test_data", "test_target"}}
    request = DeployRequest.from_options(options)
    assert (request.model_var, request.shadow, request.min_metric, request.favorable) == ("clf", 100.0, ("roc_auc=0.7",), 0)
    assert request.holdout_vars == ("Xt", "yt") and request.allow_schema_change is True


# -- validate --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("changes", "error", "needle"), [
    ({"name": "Bad Name"}, UsageError, "not allowed"),
    ({"threshold": 1.5}, UsageError, "between 0 and 1"),
    ({"sample_size": 0}, UsageError, "at least 1"),
    ({"shadow": 150.0}, UsageError, "at most 100"),
    ({"fallback": "nearest"}, UsageError, "unknown fallback"),
    ({"min_metric": ("roc_auc=0.7",)}, UsageError, "needs holdout"),
    ({"port": 3999}, UsageError, "only applies with --serve"),
    ({"wheels": ("nope.whl",)}, UsageError, "wheel"),
])
def test_validate_refuses_before_the_model_is_touched(workspace: Workspace, changes: dict[str, Any], error: type, needle: str) -> None:
    with pytest.raises(error, match=needle):
        validate(workspace.settings, DeployRequest(name="credit").replace(**changes), has_holdout=False)


def test_validate_parses_what_later_steps_need(workspace: Workspace) -> None:
    plan = validate(workspace.settings, DeployRequest(name="credit", fallback="constant:0", min_metric=("r2=0.1",)), has_holdout=True)
    assert plan.name == "credit" and plan.fallback["constant"] == 0 and plan.thresholds == {"r2": 0.1}


# -- check -----------------------------------------------------------------------------------------
def test_check_names_the_task_schema_and_drops_the_baseline_without_a_target(workspace: Workspace, fitted: dict[str, Any]) -> None:
    request = DeployRequest(name="diabetes")
    plan = validate(workspace.settings, request, has_holdout=False)
    checked = check_inputs(fitted["model"], DeployInputs(fitted["model"], fitted["X_train"]), request, plan)
    assert checked.info.task == "regression" and [f["name"] for f in checked.schema] == list(fitted["X_train"].columns)
    assert checked.fallback["strategy"] == "none" and "no --target" in checked.warnings[0]


@pytest.mark.parametrize(("inputs", "changes", "needle"), [
    ({"target": "y_test"}, {}, "target has"),
    ({}, {"protected": ("gender",)}, "protected attribute"),
    ({}, {"threshold": 0.5}, "--threshold applies to binary"),
])
def test_check_refusals(workspace: Workspace, fitted: dict[str, Any], inputs: dict[str, str], changes: dict[str, Any],
                        needle: str) -> None:
    request = DeployRequest(name="diabetes").replace(**changes)
    plan = validate(workspace.settings, request, has_holdout=False)
    given = DeployInputs(fitted["model"], fitted["X_train"], target=fitted[inputs.get("target", "y_train")])
    with pytest.raises((UsageError, InvalidInputError), match=needle):
        check_inputs(fitted["model"], given, request, plan)


# -- gates -----------------------------------------------------------------------------------------
def test_gates_measure_the_holdout_and_refuse_a_shadow_without_live(workspace: Workspace, fitted: dict[str, Any]) -> None:
    model = fitted["model"]
    inputs = DeployInputs(model, fitted["X_train"], fitted["y_train"], holdout=(fitted["X_test"], fitted["y_test"]))
    request = DeployRequest(name="diabetes", min_metric=("r2=0.1",))
    plan = validate(workspace.settings, request, has_holdout=True)
    checked = check_inputs(model, inputs, request, plan)
    gated = run_gates(workspace.store, model, inputs, request, plan, checked, _say)
    assert gated.live_id is None and gated.metrics["r2"] > 0.1 and [c["metric"] for c in gated.checks] == ["r2"]
    assert list(gated.holdout_frame.columns) == list(checked.frame.columns)
    with pytest.raises(ConflictError, match="no live version"):
        run_gates(workspace.store, model, inputs, request.replace(shadow=50.0), plan, checked, _say)
    no_holdout = run_gates(workspace.store, model, DeployInputs(model, fitted["X_train"]), DeployRequest(name="diabetes"), plan,
                           checked, _say)
    assert no_holdout.metrics == {} and "no holdout data" in no_holdout.warnings[0]


# -- capture, folder + spec, record ----------------------------------------------------------------
def test_capture_and_spec_write_a_folder_every_reader_accepts(workspace: Workspace, fitted: dict[str, Any], tmp_path: Path) -> None:
    from nb2prod.package.artifact import load_model
    from nb2prod.package.deploy.capture import capture
    from nb2prod.package.deploy.folder import write_environment, write_spec_files
    from nb2prod.package.deploy.record import make_record
    from nb2prod.runtime.spec import load_spec

    model = fitted["model"]
    inputs = DeployInputs(model, fitted["X_train"], fitted["y_train"], holdout=(fitted["X_test"], fitted["y_test"]))
    request = DeployRequest(name="diabetes", sample_size=20, model_var="model", data_var="X_train", target_var="y_train",
                            holdout_vars=("X_test", "y_test"))
    plan = validate(workspace.settings, request, has_holdout=True)
    checked = check_inputs(model, inputs, request, plan)
    gated = run_gates(workspace.store, model, inputs, request, plan, checked, _say)
    folder = tmp_path / "diabetes" / "v1"
    folder.mkdir(parents=True)
    captured = capture(folder, model, inputs, checked.info.task, checked.fallback, None)
    spec = write_spec_files(folder, workspace.settings.resolved_store_url, "diabetes", "v1", model, inputs, request, checked, gated,
                            captured.fallback)
    loaded = load_spec(folder)
    assert loaded.task == "regression" and loaded.fallback_strategy == "baseline" and loaded.interval is not None
    assert len(spec.sample["rows"]) == 20 and spec.sample["predictions"][:3] == pytest.approx(
        list(load_model(folder).predict(fitted["X_test"].sample(n=20, random_state=0))[:3]))
    environment = write_environment(folder, checked, captured.saved.modules, ())
    assert "scikit-learn==" in (folder / "requirements.lock").read_text() and (folder / "reference.json").is_file()
    warnings: list[str] = []
    record = make_record(name="diabetes", version_id="v1", created_at="2026-01-01T00:00:00+00:00", suffix="v1", folder=folder,
                         inputs=inputs, request=request, checked=checked, gated=gated, captured=captured, environment=environment,
                         lint=None, warnings=warnings)
    assert record.extra["variables"] == {"model": "model", "data": "X_train", "target": "y_train", "holdout_data": "X_test",
                                         "holdout_target": "y_test"}
    assert record.data_fingerprint["train_rows"] == len(fitted["X_train"]) and record.metrics == gated.metrics
    with pytest.raises(InvalidInputError, match="does not exist"):
        make_record(name="diabetes", version_id="v1", created_at="x", suffix="v1", folder=folder, inputs=inputs,
                    request=request.replace(data_files=(str(tmp_path / "absent.csv"),)), checked=checked, gated=gated,
                    captured=captured, environment=environment, lint=None, warnings=[])


def test_fallback_previous_needs_a_live_version(fitted: dict[str, Any], tmp_path: Path) -> None:
    from nb2prod.package.deploy.capture import capture

    with pytest.raises(UsageError, match="needs a live version"):
        capture(tmp_path, fitted["model"], DeployInputs(fitted["model"], fitted["X_train"]), "regression",
                {"strategy": "previous", "constant": None, "previous_version": None}, None)
    assert not (tmp_path / "model").exists()  # refused before anything was written


# -- register and undo -----------------------------------------------------------------------------
def _record(name: str, version_id: str, folder: Path) -> VersionRecord:
    return VersionRecord(version_id=version_id, name=name, created_at="2026-01-01T00:00:00+00:00", model_hash="0" * 64,
                         data_fingerprint={"train_sha256": "0" * 64}, code_fingerprint={}, environment={}, schema={"features": []},
                         metrics={}, lint={}, parent=None, bento_tag=f"{name}:{version_id}", model_tag=f"{name}:{version_id}",
                         deployment_dir=str(folder), params={}, extra={})


def test_register_goes_live_or_shadows_and_undo_puts_routing_back(workspace: Workspace, tmp_path: Path) -> None:
    store = workspace.store
    first = _record("credit", "credit-v1", tmp_path)
    register(store, first, live_id=None, shadow=None, actor="t", evidence={}, undo=Undo(workspace.settings, store, tmp_path / "a"))
    assert store.registry.traffic("credit").live == "credit-v1"

    folder = tmp_path / "credit" / "credit-v2"
    folder.mkdir(parents=True)
    (folder / "build.log").write_text("boom\n")
    undo = Undo(workspace.settings, store, folder)
    register(store, _record("credit", "credit-v2", folder), live_id="credit-v1", shadow=None, actor="t", evidence={}, undo=undo)
    assert store.registry.traffic("credit").live == "credit-v2" and store.registry.state("credit-v1") == VersionState.RETIRED
    undo.fail(ConflictError(f"failed, see {folder / 'build.log'}"))
    assert store.registry.traffic("credit").live == "credit-v1" and store.registry.traffic("credit").shadow is None
    assert store.registry.state("credit-v1") == VersionState.LIVE and not folder.exists() and not folder.parent.exists()
    assert (workspace.settings.home / "logs" / "credit-v2.build.log").read_text() == "boom\n"

    shadow_undo = Undo(workspace.settings, store, tmp_path / "s")
    register(store, _record("credit", "credit-v3", tmp_path), live_id="credit-v1", shadow=25.0, actor="t", evidence={},
             undo=shadow_undo)
    traffic = store.registry.traffic("credit")
    assert (traffic.live, traffic.shadow, traffic.shadow_percent) == ("credit-v1", "credit-v3", 25.0)
    shadow_undo.run()
    assert store.registry.traffic("credit").shadow is None


def test_undo_rewrites_the_error_to_the_kept_log(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "d" / "d-v1"
    folder.mkdir(parents=True)
    (folder / "build.log").write_text("x")
    exc = ConflictError(f"build failed: {folder / 'build.log'}", fix=f"see {folder / 'build.log'}")
    Undo(workspace.settings, workspace.store, folder).fail(exc)
    kept = str(workspace.settings.home / "logs" / "d-v1.build.log")
    assert kept in exc.message and kept in (exc.fix or "") and Path(kept).is_file()


# -- the variables a deploy captures ---------------------------------------------------------------
def test_binding_cells_finds_the_last_cell_that_rebinds_each_name() -> None:
    cells = ["import pandas as pd\nX_train = 1", "%time model = 2\nfor X_test in []: pass", "def f():\n    model = 3\n",
             "X_train, y = 4, 5", "model.fit(X_train)"]
    assert binding_cells(cells, ["X_train", "model", "X_test", "pd", "y", "absent"]) == {
        "X_train": 4, "X_test": 2, "pd": 1, "y": 4}  # a magic line is not Python; a function's locals are its own


def test_a_rebound_data_frame_is_refused_naming_the_cell(fitted: dict[str, Any]) -> None:
    model, X_train = fitted["model"], fitted["X_train"]
    check_variables(model, X_train, model_var="model", data_var="X_train", where={})
    with pytest.raises(InvalidInputError) as info:
        check_variables(model, X_train.iloc[:, :3], model_var="model", data_var="X_train", where={"X_train": "code cell 7"})
    assert "X_train lacks column(s)" in info.value.message and "X_train was last assigned in code cell 7" in info.value.message
    assert "--cell N or --upto TAG" in (info.value.fix or "")
    with pytest.raises(InvalidInputError, match=r"has 3 columns but model was fitted on 10 features.*In \[4\]"):
        check_variables(model, X_train.to_numpy()[:, :3], model_var="model", data_var="X_train", where={"model": "In [4]"},
                        in_kernel=True)


# -- the notebook copy a CLI deploy runs -----------------------------------------------------------
def _notebook(*cells: tuple[str, list[str]]) -> Any:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, metadata={"tags": tags}) for source, tags in cells]
    return nb


def _prepare(nb: Any, tmp_path: Path, **changes: Any) -> list[str]:
    from nb2prod.runs.notebook_deploy import prepare_copy

    request = DeployRequest(name="d", model_var="model", data_var="X_train").replace(**changes)
    out = prepare_copy(nb, request, notebook="n.ipynb", home=tmp_path, out=tmp_path / "o.json", progress=tmp_path / "p")
    return [cell.source for cell in out.cells]


def test_the_deploy_cell_goes_after_the_capture_point_and_skip_cells_run_nothing(tmp_path: Path) -> None:
    cells = (("X_train = load()", []), ("plot(X_train)", ["skip-deploy"]), ("model = fit(X_train)", ["fit"]),
             ("X_train = other()", []))
    at_end = _prepare(_notebook(*cells), tmp_path)
    assert at_end[1].startswith("# left out") and "tagged skip-deploy" in at_end[1]
    assert at_end[3] == "X_train = other()" and "deploy_in_kernel" in at_end[4]
    assert "'X_train': 'code cell 4'" in at_end[4]  # the check can name where X_train was last rebound
    for changes in ({"upto": "fit"}, {"cell": 3}):
        sources = _prepare(_notebook(*cells), tmp_path, **changes)
        assert "deploy_in_kernel" in sources[3] and sources[4].startswith("# left out")
        assert "'X_train': 'code cell 1'" in sources[3]


@pytest.mark.parametrize(("changes", "needle"), [
    ({"upto": "train"}, "no cell of n.ipynb is tagged 'train'.*tags present: fit"),
    ({"cell": 9}, "has 2 code cells"),
    ({"cell": 1}, "tagged skip-deploy"),
])
def test_a_capture_point_that_does_not_exist_is_a_usage_error(tmp_path: Path, changes: dict[str, Any], needle: str) -> None:
    nb = _notebook(("x = 1", ["skip-deploy"]), ("model = 2", ["fit"]))
    with pytest.raises(UsageError, match=needle):
        _prepare(nb, tmp_path, **changes)


def test_the_kernel_side_writes_every_outcome_as_json(workspace: Workspace, tmp_path: Path) -> None:
    from nb2prod.kernel_entry import deploy_in_kernel

    out = tmp_path / "out.json"
    request = DeployRequest(name="d", model_var="model", data_var="X_train")
    deploy_in_kernel(str(workspace.settings.home), request.to_json(), str(out), str(tmp_path / "p"), {"model": 1}, {})
    data = json.loads(out.read_text())
    assert data["failed"] and data["error"] == "usage" and "no variable named 'X_train'" in data["message"]
    deploy_in_kernel(str(workspace.settings.home), "{not json", str(out), str(tmp_path / "p"), {}, {})
    data = json.loads(out.read_text())
    assert data["failed"] and data["error"] == "internal" and data["message"].startswith("deploy failed: JSONDecodeError")


# -- the phase display -----------------------------------------------------------------------------
def test_phases_are_timed_in_order_and_repeat_lines_stay_in_their_phase() -> None:
    from nb2prod.cli.phases import PhaseDisplay, phase_of

    assert phase_of("building the Bento") == "proof + build" and phase_of("something new") == "something new"
    with PhaseDisplay(enabled=False) as show:
        for line in ("running the notebook", "checking the model and its data", "capturing the model", "proving the saved model",
                     "building the Bento", "registering the version"):
            show.say(line)
    assert list(show.parts) == ["run notebook", "check + capture", "proof + build", "register"]
    assert all(v >= 0 for v in show.parts.values()) and show.current is None


# -- errors for humans -----------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "code", "error", "needle"), [
    (["deploy", "nb.ipynb", "--json"], 2, "usage", "needs a name"),
    (["deploy", "nb.ipynb", "--name", "a", "--bogus", "--json"], 2, "usage", "No such option"),
    (["deploy", "nb.ipynb", "--name", "a", "--cell", "2", "--upto", "fit", "--json"], 2, "usage", "--cell and --upto"),
    (["deploy", "absent.ipynb", "--name", "a", "--json"], 6, "bad_notebook", "absent.ipynb: no such notebook"),
])
def test_every_cli_deploy_failure_is_one_line_and_json_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                                                  code: int, error: str, needle: str) -> None:
    from nb2prod.cli import main

    (tmp_path / "nb.ipynb").write_text("{}")
    import os

    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        returned = main(["--home", str(tmp_path / "h"), *args])
    finally:
        os.chdir(before)
    out = capsys.readouterr()
    body = json.loads(out.out)
    assert (returned, body["ok"], body["error"]) == (code, False, error) and needle in body["message"], body
    assert len(out.err.strip().splitlines()) == 1 and out.err.startswith("error: ")


def test_an_unexpected_exception_is_still_one_line(workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from nb2prod.cli import main

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Workspace, "deploy_notebook", broken)
    monkeypatch.delenv("NB2PROD_DEBUG", raising=False)
    assert main(["--home", str(workspace.settings.home), "deploy", "nb.ipynb", "--name", "a", "--json"]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["message"] == "RuntimeError: disk on fire" and "Traceback" not in out.err
    assert out.err.count("\n") == 1 and "NB2PROD_DEBUG=1" in out.err


def test_the_magic_names_the_input_that_rebound_the_data(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from deploy_shell import run

    run(shell, "from sklearn.datasets import load_diabetes\nfrom sklearn.linear_model import Ridge\n"
               "Xd, yd = load_diabetes(return_X_y=True, as_frame=True)\nridge = Ridge().fit(Xd, yd)")
    run(shell, "Xd = Xd[['age', 'bmi']]")
    rebound_at = shell.execution_count - 1
    assert run(shell, "%deploy ridge --name ridge --data Xd --target yd --quiet") is None
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: Xd lacks column(s) sex"), err
    assert f"Xd was last assigned in In [{rebound_at}]" in err[0] and "re-run the cells" in err[0]


def test_the_build_step_stages_the_model_files_and_labels_the_bento(workspace: Workspace, fitted: dict[str, Any], tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from nb2prod.adapters import bento
    from nb2prod.package.deploy.build import render, start_build
    from nb2prod.package.deploy.folder import Environment

    folder = tmp_path / "d" / "d-v1"
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "model.pkl").write_bytes(b"x")
    for item in ("deployment.json", "sample.json", "reference.json", "requirements.lock", "version.json"):
        (folder / item).write_text("{}")
    record = _record("d", "d-v1", folder)
    lock = type("Lock", (), {"packages": {"scikit-learn": "1.9"}, "python": "3.11"})()
    environment = Environment(lock=lock, packages=["scikit-learn==1.9"])
    labels = render(folder, record, environment, task="regression", image=None, wheels=(), suffix="v1")
    assert labels["nb2prod.task"] == "regression" and (folder / "bentofile.yaml").is_file() and (folder / "service.py").is_file()
    seen: dict[str, Any] = {}
    monkeypatch.setattr(bento, "start_build", lambda build_dir, **kwargs: seen.update(kwargs, staged=sorted(
        p.name for p in kwargs["model_files"].iterdir())) or "job")
    assert start_build(workspace.settings, folder, record, environment, labels, "v1") == "job"
    assert seen["staged"] == ["deployment.json", "model", "reference.json", "requirements.lock", "sample.json", "version.json"]
    assert seen["model_tag"] == "d:d-v1" and seen["metadata"]["python"] == "3.11" and seen["log_file"] == folder / "build.log"


def test_a_request_that_is_not_json_is_a_usage_error() -> None:
    import numpy as np

    with pytest.raises(UsageError, match="not a plain value"):
        DeployRequest(name="d", favorable=np.int64(0)).to_json()


def test_the_deploy_headline_gives_the_same_time_as_took(workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The packaging alone once took 47.6 s of a 107.6 s deploy and the headline said "deployed … in 47.6s"."""
    import re

    from nb2prod.cli import main
    from nb2prod.models import DeployResult

    def deployed(*_: Any, progress: Any = None, **__: Any) -> DeployResult:
        progress("running the notebook")
        return DeployResult(name="a", version_id="a-v1", deployment_dir=".", bento_tag=None, model_tag=None, duration_s=-1.0)

    monkeypatch.setattr(Workspace, "deploy_notebook", deployed)
    assert main(["--home", str(workspace.settings.home), "deploy", "nb.ipynb", "--name", "a"]) == 0
    out = capsys.readouterr().out
    headline = re.search(r"deployed a-v1 in (\S+)s", out)
    took = re.search(r"took:\s+(\S+) s in all", out)
    assert headline and took and headline.group(1) == took.group(1) and not headline.group(1).startswith("-"), out
