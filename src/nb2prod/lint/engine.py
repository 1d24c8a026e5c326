"""The lint engine: notebook(s) in, typed reports out."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nb2prod.errors import NotebookError, NotFoundError
from nb2prod.lint.notebook import ParsedNotebook, load_notebook, parse_notebook
from nb2prod.lint.project import Project
from nb2prod.lint.registry import all_rules
from nb2prod.lint.rule import LintContext
from nb2prod.models import Finding, LintReport, Severity

__all__ = ["SKIP_FOLDERS", "discover", "lint_dict", "lint_notebook", "lint_parsed", "lint_paths"]

SKIP_FOLDERS = frozenset({".git", ".ipynb_checkpoints", "node_modules", ".venv", "venv", "site-packages", "__pycache__", ".tox", "build", "dist"})


def _order(finding: Finding) -> tuple[int, int, int, str]:
    return (finding.cell_index if finding.cell_index is not None else -1, finding.line or 0, -finding.severity.rank, finding.rule)


def lint_parsed(nb: ParsedNotebook, *, path: str, history: Sequence[str] | None = None, project_cache: dict[str, Project] | None = None) -> list[Finding]:
    """Static findings for an already parsed notebook, sorted by cell and line."""
    ctx = LintContext(nb, path, list(history) if history is not None else None, project_cache if project_cache is not None else {})
    findings: list[Finding] = []
    for rule in all_rules():
        try:
            findings.extend(rule.run(ctx))
        except Exception as exc:  # one broken rule must not hide the others' findings
            findings.append(
                Finding(
                    rule=f"{rule.id}/internal-error",
                    severity=Severity.WARNING,
                    message=f"the {rule.id} rule failed on this notebook ({exc.__class__.__name__}: {str(exc)[:120]})",
                    path=path,
                    fix="please report this with the notebook attached",
                )
            )
    return sorted(findings, key=_order)


def lint_dict(nb: Mapping[str, Any], *, path: str | Path | None = None, history: Sequence[str] | None = None) -> LintReport:
    """Lint an in-memory notebook dict (``path`` locates relative files, if given)."""
    parsed = parse_notebook(nb, path)
    label = str(path) if path is not None else "<notebook>"
    return LintReport(path=label, findings=tuple(lint_parsed(parsed, path=label, history=history)))


def _unreadable(path: Path, exc: NotebookError) -> LintReport:
    finding = Finding(rule="notebook/unreadable", severity=Severity.ERROR, message=exc.message, path=str(path), fix=exc.fix)
    return LintReport(path=str(path), findings=(finding,))


def lint_notebook(
    path: str | Path,
    *,
    run: bool = False,
    history: Sequence[str] | None = None,
    timeout_s: float = 600.0,
    project_cache: dict[str, Project] | None = None,
    runs: int = 2,
) -> LintReport:
    """Lint one notebook file; with ``run=True`` also restart-and-run-all it in fresh kernels.

    ``runs=2`` (default) runs it twice to tell seedable randomness from real nondeterminism;
    ``runs=1`` only checks it runs and reproduces its saved outputs.

    Raises :class:`NotebookError` when the file is missing or not a notebook.
    """
    label = str(path)
    nb = load_notebook(path)
    findings = lint_parsed(nb, path=label, history=history, project_cache=project_cache)
    if run and nb.is_python:
        from nb2prod.lint.rerun import recheck

        findings = sorted(recheck(nb, findings, path=label, timeout_s=timeout_s, runs=runs), key=_order)
    return LintReport(path=label, findings=tuple(findings), executed=bool(run and nb.is_python))


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Notebook files named by ``paths`` (folders searched recursively, skipping checkpoints/venvs)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise NotFoundError(f"{path}: no such file or folder", fix="check the path (relative paths start at the current folder)")
        if path.is_file():
            found.append(path)
            continue
        for folder, subfolders, files in os.walk(path):
            subfolders[:] = sorted(d for d in subfolders if d not in SKIP_FOLDERS and not d.startswith("."))
            found.extend(Path(folder) / f for f in sorted(files) if f.endswith(".ipynb"))
    return list(dict.fromkeys(found))


def lint_paths(paths: Iterable[str | Path], *, run: bool = False, timeout_s: float = 600.0) -> list[LintReport]:
    """Lint every notebook under ``paths``; an unreadable file gets a ``notebook/unreadable`` finding."""
    cache: dict[str, Project] = {}
    reports: list[LintReport] = []
    for path in discover(paths):
        try:
            reports.append(lint_notebook(path, run=run, timeout_s=timeout_s, project_cache=cache))
        except NotebookError as exc:
            reports.append(_unreadable(path, exc))
    return reports
