"""``rebuild NAME:VERSION`` re-runs the recorded notebook (papermill) and compares with the stored model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nb2prod.api import Workspace
from nb2prod.errors import NotFoundError, UsageError

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "example_notebooks" / "credit_default.ipynb"


@pytest.mark.slow
def test_deploy_from_the_cli_then_rebuild_reproduces_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`nb2prod deploy NOTEBOOK` (papermill + the same core call as %deploy), then `nb2prod rebuild`."""
    from nb2prod.cli import main

    home = str(tmp_path / "ws")
    code = main(["--home", home, "deploy", str(NOTEBOOK), "--name", "credit", "-p", "n_samples", "2000",
                 "--holdout", "X_test", "y_test", "--protected", "gender", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    assert result["captured"] == ["AffordabilityRatios"] and result["proof"]["ok"]
    with Workspace.open(home) as ws:
        record = ws.store.registry.get(result["version_id"])
        assert record.params["n_samples"] == 2000 and record.extra["notebook"] == str(NOTEBOOK)

    code = main(["--home", home, "rebuild", f"credit:{result['version_id']}", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    rebuilt = json.loads(out.out)
    assert rebuilt["matches"] and rebuilt["rows"] == 200 and rebuilt["mismatched"] == 0
    assert rebuilt["model_hash_equal"], rebuilt["differences"]
    assert rebuilt["likely_causes"] == []


def test_rebuild_refuses_unknown_refs(workspace: Workspace) -> None:
    with pytest.raises(NotFoundError):
        workspace.rebuild("credit:v1")
    with pytest.raises(UsageError):
        workspace.rebuild("Not A Name")
