"""``nb2prod deploy`` runs the notebook as it runs: a notebook of ours keeps experimenting after the
model it deploys (a ``skip-deploy`` cell that would fail, then ``X_train`` rebound to two columns).

Captured at the end, the deploy is refused in one line naming the cell that rebound ``X_train``
(and the ``skip-deploy`` cell did not run, or the run would have failed on it); with
``--upto trained`` the variables are captured right after the model is fitted and it deploys.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nb2prod.api import Workspace

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "keeps_experimenting.ipynb"


def _cli(home: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object], str]:
    from nb2prod.cli import main

    code = main(["--home", str(home), "deploy", str(NOTEBOOK), "--name", "keeps", "--holdout", "X_test", "y_test", "--json", *args])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def test_a_rebound_variable_is_named_and_upto_captures_before_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / ".nb2prod"
    code, error, err = _cli(home, capsys=capsys)
    assert code == 5 and error["ok"] is False and error["error"] == "invalid_input", error
    assert str(error["message"]).startswith("X_train lacks column(s) sex, bp")
    assert "X_train was last assigned in code cell 5" in str(error["message"])
    assert "--upto TAG" in str(error["fix"]) and "Traceback" not in err and "GPU" not in err

    code, result, err = _cli(home, "--upto", "trained", capsys=capsys)
    assert code == 0, result
    assert err == ""  # --json: no progress display, stdout is only the JSON
    assert list(result["parts_s"]) == ["run notebook", "check + capture", "proof + build", "register"]  # type: ignore[arg-type]
    with Workspace.open(home) as ws:
        (record, _), = ws.versions("keeps")
        assert record.version_id == result["version_id"] and record.schema["features"][1]["name"] == "sex"
        run = ws.runs()[0]
    executed = Path(run.output).read_text()
    assert "after the capture point" in executed and "needs the author's GPU" not in executed
