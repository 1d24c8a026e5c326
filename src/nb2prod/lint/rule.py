"""The base class every lint rule extends, and the context rules read.

A rule declares its family id and its checks (id, default severity, one-line description);
the base class owns iteration (``run`` calls ``check_notebook`` once and ``check_cell`` for
every parsed code cell) and builds located findings (``finding``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

from nb2prod.lint.notebook import Cell, ParsedNotebook
from nb2prod.lint.project import Project, find_project
from nb2prod.models import Finding, Severity

__all__ = ["Check", "LintContext", "Rule"]


@dataclass(frozen=True, slots=True)
class Check:
    severity: Severity
    description: str


@dataclass
class LintContext:
    """What a rule may look at: the parsed notebook, its display path, kernel history, project."""

    nb: ParsedNotebook
    path: str
    history: list[str] | None = None
    project_cache: dict[str, Project] = field(default_factory=dict)

    @cached_property
    def project(self) -> Project:
        return find_project(self.nb.folder, cache=self.project_cache)


class Rule:
    """One reproducibility rule family (one module under ``nb2prod.lint.rules``)."""

    id: ClassVar[str]
    title: ClassVar[str]
    checks: ClassVar[dict[str, Check]]
    python_only: ClassVar[bool] = True  # skip notebooks whose kernel is not Python

    def run(self, ctx: LintContext) -> list[Finding]:
        """All findings for one notebook: the notebook-wide pass, then every parsed code cell."""
        if self.python_only and not ctx.nb.is_python:
            return []
        found = list(self.check_notebook(ctx))
        for cell in ctx.nb.cells:
            if cell.is_code and (cell.tree is not None or not self.python_only):
                found.extend(self.check_cell(ctx, cell))
        return found

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        return ()

    def check_cell(self, ctx: LintContext, cell: Cell) -> Iterable[Finding]:
        return ()

    def finding(
        self,
        ctx: LintContext,
        check: str,
        message: str,
        *,
        cell: Cell | None = None,
        line: int | None = None,
        fix: str | None = None,
        evidence: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            rule=f"{self.id}/{check}",
            severity=severity or self.checks[check].severity,
            message=message,
            path=ctx.path,
            cell_index=cell.index if cell is not None else None,
            cell_id=cell.id if cell is not None else None,
            line=line,
            fix=fix,
            evidence=evidence,
        )
