"""Under CI=true a skipped postgres/browser test fails the run; other skips stay skips (tests/ci_legs.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SAMPLE = '''
import pytest

@pytest.mark.postgres
def test_needs_postgres():
    pytest.skip("NB2PROD_TEST_PG_URL not set")

@pytest.fixture(scope="session")
def lab():
    pytest.skip("/usr/bin/chromium is missing")

@pytest.mark.browser
def test_needs_a_browser(lab):
    pass

def test_optional_library():
    pytest.importorskip("a_library_that_is_not_installed")

@pytest.mark.postgres
@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False

@pytest.mark.postgres
def test_runs():
    pass
'''


def _run(tmp_path: Path, ci: str | None) -> str:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # a bare pytest: only the plugin under test
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "ci_legs", "-p", "no:cacheprovider", "-q", "-rfs", "-W", "ignore::pytest.PytestUnknownMarkWarning",
         "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    return done.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_skipped_leg_fails_and_says_why(tmp_path: Path, ci: str) -> None:
    out = _run(tmp_path, ci)
    # a skip in the test fails it; a skip in a leg fixture's setup is an error: both fail the run
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error" in out, out
    assert "CI=true: the postgres leg was skipped (NB2PROD_TEST_PG_URL not set)" in out
    assert "CI=true: the browser leg was skipped (/usr/bin/chromium is missing)" in out
    assert "SKIPPED [1] test_sample.py" in out and "a_library_that_is_not_installed" in out  # not a leg: stays a skip


def test_outside_ci_a_skipped_leg_is_a_skip(tmp_path: Path) -> None:
    out = _run(tmp_path, None)
    assert "1 passed, 3 skipped, 1 xfailed" in out, out
