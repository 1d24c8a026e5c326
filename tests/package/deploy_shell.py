"""Helpers for the deploy tests: run cells in an in-process IPython shell, as a kernel would."""

from __future__ import annotations

from typing import Any


def run(sh: Any, code: str) -> Any:
    """Run ``code`` as one notebook cell; fail the test with the cell's error."""
    result = sh.run_cell(code, store_history=True)
    if not result.success:
        raise AssertionError(f"cell failed: {result.error_in_exec or result.error_before_exec}\n{code}")
    return result.result
