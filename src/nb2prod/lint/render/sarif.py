"""SARIF 2.1.0 lint reports for code-scanning UIs (GitHub, GitLab, VS Code SARIF viewer).

Each result points at the ``.ipynb`` file and, where the file has Jupyter's usual layout, at
the JSON line holding the offending source line; the cell index, id and cell-relative line are
in the result's logical location and properties.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nb2prod import __version__
from nb2prod.lint.notebook import ipynb_source_lines
from nb2prod.lint.registry import catalog
from nb2prod.lint.rerun import RERUN_CHECKS
from nb2prod.models import LintReport, Severity

__all__ = ["artifact_uri", "render_sarif", "sarif_log"]

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _rules() -> list[dict[str, Any]]:
    rules = [
        {
            "id": rule_id,
            "name": rule_id.replace("/", "-"),
            "shortDescription": {"text": check.description},
            "properties": {"family": title},
            "defaultConfiguration": {"level": _LEVEL[check.severity]},
        }
        for rule_id, (title, check) in catalog().items()
    ]
    rules += [
        {
            "id": f"rerun/{name}",
            "name": f"rerun-{name}",
            "shortDescription": {"text": text},
            "properties": {"family": "Re-execution"},
            "defaultConfiguration": {"level": _LEVEL[severity]},
        }
        for name, (severity, text) in RERUN_CHECKS.items()
    ]
    rules.append(
        {
            "id": "notebook/unreadable",
            "name": "notebook-unreadable",
            "shortDescription": {"text": "The file is not a readable notebook."},
            "defaultConfiguration": {"level": "error"},
        }
    )
    return rules


def artifact_uri(path: str) -> str:
    """An RFC 3986 URI reference for a notebook path: relative paths stay relative, absolute ones become
    ``file://`` URIs, and every character outside the unreserved set and ``/`` is percent-encoded
    (``my notebook.ipynb`` → ``my%20notebook.ipynb``), as SARIF 2.1.0 requires."""
    posix = Path(path).as_posix()
    if Path(path).is_absolute():
        return Path(path).as_uri()
    return quote(posix, safe="/")


def _file_lines(path: str) -> list[int | None]:
    try:
        return ipynb_source_lines(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []


def sarif_log(reports: Sequence[LintReport]) -> dict[str, Any]:
    rules = _rules()
    known = {r["id"] for r in rules}
    results: list[dict[str, Any]] = []
    for report in reports:
        starts = _file_lines(report.path)
        for f in report.findings:
            if f.rule not in known:
                rules.append({"id": f.rule, "name": f.rule.replace("/", "-"), "shortDescription": {"text": f.rule}})
                known.add(f.rule)
            physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(report.path)}}
            if f.cell_index is not None and f.cell_index < len(starts) and starts[f.cell_index] is not None:
                physical["region"] = {"startLine": int(starts[f.cell_index] or 1) + max((f.line or 1) - 1, 0)}
            result: dict[str, Any] = {
                "ruleId": f.rule,
                "level": _LEVEL[f.severity],
                "message": {"text": f.message + (f" Fix: {f.fix}" if f.fix else "")},
                "locations": [
                    {
                        "physicalLocation": physical,
                        **(
                            {"logicalLocations": [{"name": f"cell {f.cell_index}", "fullyQualifiedName": f"cell[{f.cell_index}]", "kind": "member"}]}
                            if f.cell_index is not None
                            else {}
                        ),
                    }
                ],
                "properties": {"cell_index": f.cell_index, "cell_id": f.cell_id, "line": f.line, "evidence": f.evidence},
            }
            results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "nb2prod-lint", "version": __version__, "informationUri": "https://example.invalid/nb2prod", "rules": rules}},
                "results": results,
            }
        ],
    }


def render_sarif(reports: Sequence[LintReport]) -> str:
    return json.dumps(sarif_log(reports), indent=2)
