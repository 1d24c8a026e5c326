"""In CI a skipped PostgreSQL, browser or gateway leg fails the run instead of passing quietly.

Tests marked ``postgres``, ``browser`` or ``gateway`` skip on a developer machine without PostgreSQL, Chromium or nginx;
under ``CI=true`` (set by CI services; ``./dev test`` checks the PostgreSQL server itself) such a skip
becomes a failure naming the leg and why it could not run. Other skips (an optional library, another
operating system) stay skips.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

__all__ = ["LEGS", "in_ci", "pytest_runtest_makereport"]

LEGS = {
    "postgres": "start PostgreSQL with scripts/pg_test_server.sh and set NB2PROD_TEST_PG_URL (./dev test does both)",
    "browser": "install chromium and playwright and build the labextension (./dev test does, as root with apt-get)",
    "gateway": "install nginx, the local topology's gateway (./dev test does, as root with apt-get)",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return
    legs = [leg for leg in LEGS if item.get_closest_marker(leg) is not None]
    if not legs:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = f"CI=true: the {legs[0]} leg was skipped ({reason}); {LEGS[legs[0]]}"
