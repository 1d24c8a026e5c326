"""A real notebook plots after training, with a library the deploy's environment may lack (the
scikit-learn gallery's AdaBoost example imports seaborn in its last cell). The failed run says which
code cell already has everything the deploy needs, and ``--cell`` that number deploys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "plots_after_training.ipynb"


def _deploy(home: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    from nb2prod.cli import main

    code = main(["--home", str(home), "deploy", str(NOTEBOOK), "--name", "plots", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_a_failing_plot_after_training_names_the_cell_to_capture_at(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / ".nb2prod"
    code, error = _deploy(home, capsys)
    assert (code, error["ok"], error["error"]) == (10, False, "execution"), error
    assert "No module named 'nb2prod_test_plotting_library_that_is_not_installed'" in str(error["message"])
    assert "set by code cell 2), deploy with `--cell 2` or tag the cell skip-deploy" in str(error["fix"])

    code, result = _deploy(home, capsys, "--cell", "2")
    assert code == 0 and result["proof"]["ok"], result
    # the result's duration covers the notebook run, not only the deploy cell inside it
    assert result["duration_s"] >= 0.9 * sum(result["parts_s"].values()), result


def test_a_failing_import_before_training_does_not_suggest_capturing_earlier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The gallery's plot_digits_pipe imports polars in its first code cell: no capture point can skip a cell the
    model needs, so the refusal says what failed and where to read it, and names no `--cell`."""
    from nb2prod.cli import main

    source = json.loads(NOTEBOOK.read_text())
    code_cells = [c for c in source["cells"] if c["cell_type"] == "code"]
    code_cells[0]["source"] = "import nb2prod_test_library_needed_before_training\n" + "".join(code_cells[0]["source"])
    notebook = tmp_path / "imports_first.ipynb"
    notebook.write_text(json.dumps(source))
    code = main(["--home", str(tmp_path / ".nb2prod"), "deploy", str(notebook), "--name", "imports", "--json"])
    error = json.loads(capsys.readouterr().out)
    assert (code, error["error"]) == (10, "execution"), error
    assert "cell 1 raised ModuleNotFoundError" in error["message"] and "--cell" not in error["fix"] and "traceback" in error["fix"]
