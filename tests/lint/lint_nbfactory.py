"""Build in-memory notebooks and lint them (helpers for tests/lint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nb2prod.lint import lint_dict
from nb2prod.models import Finding


def cell(
    source: str, *, count: int | None = None, outputs: list[dict[str, Any]] | None = None, tags: list[str] | None = None, kind: str = "code"
) -> dict[str, Any]:
    c: dict[str, Any] = {"cell_type": kind, "metadata": {"tags": tags} if tags else {}, "source": source}
    if kind == "code":
        c["execution_count"] = count
        c["outputs"] = outputs or []
    return c


def notebook(*cells: dict[str, Any] | str, language: str = "python") -> dict[str, Any]:
    built = [cell(c) if isinstance(c, str) else c for c in cells]
    for index, c in enumerate(built):
        c.setdefault("id", f"cell{index}")
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "language": language, "display_name": "Python 3"}},
        "cells": built,
    }


def findings(nb: dict[str, Any], *, path: Path | None = None, history: list[str] | None = None, prefix: str = "") -> list[Finding]:
    report = lint_dict(nb, path=path, history=history)
    # notebooks built here are unexecuted unless counts are given: that notebook-level info is asked for explicitly
    hidden = set() if prefix.startswith("execution-order") else {"execution-order/never-executed"}
    return [f for f in report.findings if f.rule.startswith(prefix) and f.rule not in hidden]


def rules(nb: dict[str, Any], **kwargs: Any) -> list[str]:
    return [f.rule for f in findings(nb, **kwargs)]


def write(nb: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path
