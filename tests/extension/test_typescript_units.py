"""Runs the extension's TypeScript unit tests (REST client, view-models, chart specs) with node's test runner.

They need node and ``extension/node_modules`` (made by ``pip install -e .``, which builds the extension);
without them the test is skipped, saying why.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "extension"


def test_typescript_unit_tests_pass() -> None:
    node = shutil.which("node")
    tsc = EXTENSION / "node_modules" / "typescript" / "bin" / "tsc"
    if node is None or not tsc.is_file():
        pytest.skip("node or extension/node_modules missing: run `pip install -e .` (it builds the extension)")
    compiled = subprocess.run([node, str(tsc), "-p", "tsconfig.test.json"], cwd=EXTENSION, capture_output=True, text=True, timeout=300)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    tests = sorted(str(p.relative_to(EXTENSION)) for p in (EXTENSION / "lib-test" / "test").glob("*.test.js"))
    ran = subprocess.run([node, "--test", *tests], cwd=EXTENSION, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    passed = int(re.search(r"^# pass (\d+)$", ran.stdout, re.M).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"^# fail (\d+)$", ran.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert failed == 0 and passed >= 29, ran.stdout[-2000:]
