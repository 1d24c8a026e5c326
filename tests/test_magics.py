from __future__ import annotations

import pytest
from IPython.testing.globalipapp import start_ipython


@pytest.fixture(scope="module")
def ip():  # type: ignore[no-untyped-def]
    from IPython import get_ipython

    shell = start_ipython() or get_ipython()  # None when another test module started it already
    assert shell is not None
    shell.run_line_magic("load_ext", "nb2prod")
    return shell


def test_load_ext_registers_the_magics(ip) -> None:  # type: ignore[no-untyped-def]
    assert "nb2prod" in ip.magics_manager.magics["line"]


def test_nb2prod_magic_runs_cli_commands(ip, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    ip.run_line_magic("nb2prod", "info")
    out = capsys.readouterr().out
    assert "store:" in out and "sqlite" in out


def test_nb2prod_magic_reports_errors_in_one_line(ip, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    ip.run_line_magic("nb2prod", "run does-not-exist.ipynb")
    captured = capsys.readouterr()
    assert "no such notebook" in captured.err and "Traceback" not in captured.out + captured.err
