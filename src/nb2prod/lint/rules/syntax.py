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
        "python2": Check(Severity.WARNING, "The notebook's kernel is Python 2 (end of life since 2020): a Python 3 kernel cannot run it."),
    }

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        if ctx.nb.language == "python2":
            kernel = (ctx.nb.metadata.get("kernelspec") or {}).get("name") or "python2"
            yield self.finding(
                ctx,
                "python2",
                f"the notebook was saved by a Python 2 kernel ({kernel!r}): its cells were not checked as Python 3",
                fix="port it to Python 3 (`print(...)`, `range`, integer division…), switch the kernel, restart and run all",
            )
            return
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
