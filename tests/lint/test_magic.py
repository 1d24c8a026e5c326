from __future__ import annotations

import json
from pathlib import Path

import pytest
from lint_nbfactory import notebook, write


@pytest.fixture
def shell():
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython() or get_ipython()
    ip.run_line_magic("load_ext", "nb2prod")
    return ip


def test_magic_lints_the_session_notebook_with_history(shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    (tmp_path / "work").mkdir()
    write(notebook("import math", "print(frame_from_deleted_cell)"), tmp_path / "work" / "session.ipynb")
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("JPY_SESSION_NAME", "work/session.ipynb")  # relative to the server root (tmp_path)
    shell.run_cell("frame_from_deleted_cell = 41", store_history=True)
    capsys.readouterr()
    shell.run_line_magic("nb2prod", "lint --json")
    payload = json.loads(capsys.readouterr().out)
    (finding,) = [f for f in payload["reports"][0]["findings"] if f["rule"] != "execution-order/never-executed"]
    assert finding["rule"] == "hidden-state/deleted-definition" and finding["cell_index"] == 1


def test_magic_without_a_known_notebook_says_how_to_fix(shell, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    shell.user_ns.pop("__vsc_ipynb_file__", None)
    shell.run_line_magic("nb2prod", "lint")
    assert "pass its path" in capsys.readouterr().out
    shell.run_line_magic("nb2prod", "lint missing.ipynb")
    assert "error: missing.ipynb: no such notebook" in capsys.readouterr().out
