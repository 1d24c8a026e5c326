"""The CLI: real commands only in --help, one-line errors with distinct exit codes, no tracebacks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nb2prod.cli import cli, main


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nb2prod", "--home", str(home), *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_only_registered_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    listed = set(re.findall(r"^  (\S+)", out.split("Commands:")[1], flags=re.MULTILINE))
    assert listed == set(cli.commands)
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help text"


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--bogus"], 2, "No such option"),
        (["run"], 2, "Missing argument"),
        (["run", "missing.ipynb"], 6, "no such notebook"),
        (["runs", "--limit", "0"], 2, "--limit"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code(tmp_path: Path, args: list[str], code: int, needle: str) -> None:
    result = _run(*args, home=tmp_path)
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_notebook_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ipynb"
    bad.write_text('{"cells": [', encoding="utf-8")
    result = _run("run", str(bad), home=tmp_path / "h")
    assert result.returncode == 6
    assert result.stderr.strip() == f"error: {bad}: not a notebook (not valid JSON) — open it in Jupyter and save it again, or restore it from version control"


def test_text_file_is_not_called_a_damaged_notebook(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n", encoding="utf-8")
    result = _run("lint", str(text), home=tmp_path / "h")
    said = result.stdout + result.stderr  # lint reports an unreadable file as an error finding
    assert result.returncode != 0 and "notes.txt is not a notebook" in said and "an .ipynb file" in said, said
    assert "save it again" not in said and "Traceback" not in said


def test_unwritable_store_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _run("info", home=blocker / "home")
    assert result.returncode == 7
    assert result.stderr.startswith("error: cannot create the store folder") and "Traceback" not in result.stderr


def test_info_and_runs_on_an_empty_workspace(tmp_path: Path) -> None:
    info = _run("info", "--json", home=tmp_path)
    assert info.returncode == 0 and '"predictions": 0' in info.stdout
    runs = _run("runs", home=tmp_path)
    assert runs.returncode == 0 and "no runs yet" in runs.stdout


def test_parameter_values_are_typed() -> None:
    from nb2prod.errors import UsageError
    from nb2prod.runs import parse_parameter

    assert parse_parameter("n", "500") == ("n", 500)
    assert parse_parameter("x", "0.5") == ("x", 0.5)
    assert parse_parameter("flag", "True") == ("flag", True)
    assert parse_parameter("s", "economic_shift") == ("s", "economic_shift")
    assert parse_parameter("l", "[1, 2]") == ("l", [1, 2])
    with pytest.raises(UsageError):
        parse_parameter("not-a-name", "1")
