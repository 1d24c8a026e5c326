"""Cells that are not valid Python (after IPython syntax is accounted for)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from nb2prod.lint.notebook import Cell
from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["SyntaxRule"]


@register
class SyntaxRule(Rule):
    id = "syntax"
    title = "Cells that do not parse"
    python_only = False
    checks: ClassVar[dict[str, Check]] = {
        "invalid-python": Check(Severity.ERROR, "A code cell is not valid Python, so running it raises SyntaxError."),
        "not-python": Check(Severity.INFO, "The notebook's kernel is not Python; only language-neutral checks ran."),
    }

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        if not ctx.nb.is_python:
            yield self.finding(ctx, "not-python", f"kernel language is {ctx.nb.language!r}: only execution-order and secret checks ran")

    def check_cell(self, ctx: LintContext, cell: Cell) -> Iterable[Finding]:
        if cell.syntax_error is not None:
            message, line = cell.syntax_error
            yield self.finding(
                ctx,
                "invalid-python",
                f"cell does not parse: {message}",
                cell=cell,
                line=line,
                fix="fix the syntax (a restart-and-run-all stops at this cell)",
            )
