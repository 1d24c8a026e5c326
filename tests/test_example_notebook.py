"""The example notebook: a papermill parameters cell, deterministic data, a recorded run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nb2prod.api import Workspace
from nb2prod.examples.credit import FEATURES, PROTECTED, SCENARIOS, TARGET, make_credit_data

NOTEBOOK = Path(__file__).resolve().parents[1] / "example_notebooks" / "credit_default.ipynb"


def test_notebook_has_a_tagged_parameters_cell() -> None:
    nb = json.loads(NOTEBOOK.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    for name in ("seed", "n_samples", "scenario", "severity", "output_dir"):
        assert f"{name} =" in source


def test_data_is_deterministic_and_has_the_protected_attribute() -> None:
    a = make_credit_data(500, seed=7)
    b = make_credit_data(500, seed=7)
    assert a.equals(b)
    assert not a.equals(make_credit_data(500, seed=8))
    assert list(a.columns) == [*FEATURES, TARGET]
    assert set(a[PROTECTED]) == {"female", "male"}


def test_scenarios_inject_the_documented_shift() -> None:
    base = make_credit_data(20_000, seed=3)
    economic = make_credit_data(20_000, seed=3, scenario="economic_shift")
    covariate = make_credit_data(20_000, seed=3, scenario="covariate_shift")
    assert economic["income"].median() < 0.9 * base["income"].median()  # data drift
    assert economic[TARGET].mean() > base[TARGET].mean() + 0.1  # the default pattern changes
    assert covariate["age"].mean() < base["age"].mean() - 5
    assert set(SCENARIOS) == {"none", "economic_shift", "covariate_shift"}
    with pytest.raises(ValueError, match="unknown scenario"):
        make_credit_data(10, scenario="recession")


@pytest.mark.slow
def test_papermill_run_is_recorded_with_outputs(workspace: Workspace) -> None:
    run = workspace.run_notebook(NOTEBOOK, {"n_samples": 3000, "seed": 5}, progress=False)
    assert run.status == "succeeded" and run.duration_s and run.duration_s > 0
    workdir = Path(run.output).parent
    metrics = json.loads((workdir / "outputs" / "metrics.json").read_text())
    assert metrics["seed"] == 5 and 0.6 < metrics["roc_auc"] < 1.0
    assert not (NOTEBOOK.parent / "outputs").exists()  # output_dir was pointed at the run folder
    assert "outputs/holdout_sample.csv" in run.result["files"]
    assert workspace.runs()[0].run_id == run.run_id
    executed = json.loads(Path(run.output).read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "n_samples = 3000" in "".join(injected[0]["source"])


@pytest.mark.slow
def test_failed_run_is_recorded_and_reported(workspace: Workspace, tmp_path: Path) -> None:
    from nb2prod.errors import ExecutionError

    with pytest.raises(ExecutionError, match="unknown scenario"):
        workspace.run_notebook(NOTEBOOK, {"n_samples": 1000, "scenario": "recession"}, progress=False)
    last = workspace.runs()[0]
    assert last.status == "failed" and "unknown scenario" in (last.error or "")


def test_run_is_refused_before_a_kernel_starts_when_lint_finds_errors(workspace: Workspace, tmp_path: Path) -> None:
    import nbformat

    from nb2prod.errors import GateRefusedError

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(total)")])
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, str(path))
    with pytest.raises(GateRefusedError, match="lint found 1 finding") as err:
        workspace.run_notebook(path, progress=False)
    assert err.value.evidence["findings"][0]["severity"] == "error"
    last = workspace.runs()[0]
    assert last.status == "refused" and last.result["lint"]["error"] == 1


def test_run_records_lint_summary_and_data_fingerprints(workspace: Workspace, tmp_path: Path) -> None:
    import nbformat

    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import pandas as pd\ndf = pd.read_csv('data.csv')\nprint(len(df))")])
    path = tmp_path / "reads.ipynb"
    nbformat.write(nb, str(path))
    run = workspace.run_notebook(path, progress=False, fail_on=None)  # runs in the notebook's folder: data.csv is found
    assert run.status == "succeeded"
    assert "data.csv" in run.data_fingerprints["data_files"]
    assert run.data_fingerprints["data_files"]["data.csv"]["size"] == 8
