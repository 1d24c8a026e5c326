"""Execution-order evidence in the saved notebook: the counts Jupyter stored on each cell."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["ExecutionOrderRule"]

_RERUN_FIX = "restart the kernel and run all cells top to bottom, then save"


def _has_visible_output(outputs: list[dict[str, object]]) -> bool:
    return any(o.get("output_type") in {"execute_result", "display_data", "stream", "error"} for o in outputs)


@register
class ExecutionOrderRule(Rule):
    id = "execution-order"
    title = "Execution order"
    python_only = False
    checks: ClassVar[dict[str, Check]] = {
        "out-of-order": Check(Severity.WARNING, "A cell ran before a cell above it; saved outputs follow an order a fresh run won't."),
        "duplicate-count": Check(Severity.WARNING, "Two cells carry the same execution count (merged or pasted from other sessions)."),
        "gap": Check(Severity.INFO, "Execution counts skip numbers: code ran that is not in the notebook (re-runs, deleted cells)."),
        "unexecuted": Check(Severity.WARNING, "A code cell never ran while cells around it did."),
        "output-without-count": Check(Severity.INFO, "A cell has outputs but no execution count."),
        "error-output": Check(Severity.WARNING, "A saved output is an error (a traceback): the saved run did not complete cleanly."),
        "never-executed": Check(Severity.INFO, "No code cell was ever run: nothing in the file shows the notebook runs."),
    }

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        code = [c for c in ctx.nb.cells if c.is_code and not c.is_empty]
        for cell in code:
            error = next((o for o in cell.outputs if o.get("output_type") == "error"), None)
            if error is not None:
                name, value = str(error.get("ename") or "error"), str(error.get("evalue") or "")
                yield self.finding(
                    ctx,
                    "error-output",
                    f"the saved output is an error: {name}" + (f": {value[:100]}" if value else ""),
                    cell=cell,
                    fix="fix the cause (or, for an intended error, catch it / tag the cell `raises-exception`), then restart and run all",
                    evidence=f"{name}: {value[:200]}",
                    severity=Severity.INFO if "raises-exception" in cell.tags else None,
                )
        executed = [c for c in code if c.execution_count is not None]
        if not executed:
            if code and not any(c.outputs for c in code):
                yield self.finding(
                    ctx,
                    "never-executed",
                    f"none of the {len(code)} code cells was ever run (no execution counts, no outputs)",
                    fix="restart the kernel, run all cells and save, so the file shows that it runs and what it produces",
                )
            return
        seen: dict[int, int] = {}
        highest = None
        for cell in executed:
            count = cell.execution_count
            assert count is not None
            if count in seen:
                yield self.finding(
                    ctx,
                    "duplicate-count",
                    f"execution count [{count}] also appears on cell {seen[count]}",
                    cell=cell,
                    fix=_RERUN_FIX,
                )
            else:
                seen[count] = cell.index
            if highest is not None and count < highest[0]:
                yield self.finding(
                    ctx,
                    "out-of-order",
                    f"ran as [{count}], before cell {highest[1]} above it ran as [{highest[0]}]",
                    cell=cell,
                    fix=_RERUN_FIX,
                    evidence=f"cell {highest[1]} [{highest[0]}] > cell {cell.index} [{count}]",
                )
            if highest is None or count > highest[0]:
                highest = (count, cell.index)
        by_count = sorted(seen.items())
        previous = 0
        for count, index in by_count:
            if count > previous + 1:
                missing = count - previous - 1
                what = "before the first saved cell" if previous == 0 else f"between [{previous}] and [{count}]"
                yield self.finding(
                    ctx,
                    "gap",
                    f"{missing} execution{'s' if missing > 1 else ''} {what} are not in the notebook",
                    cell=next(c for c in executed if c.index == index),
                    fix=_RERUN_FIX,
                    evidence=f"counts jump from [{previous}] to [{count}]",
                )
            previous = count
        first, last = executed[0].index, executed[-1].index
        for cell in code:
            if cell.execution_count is None and first < cell.index < last:
                yield self.finding(
                    ctx,
                    "unexecuted",
                    "never ran in the saved session although cells above and below it did",
                    cell=cell,
                    fix="run it (or delete it if it is dead code), then restart and run all",
                )
        for cell in code:
            if cell.execution_count is None and _has_visible_output(cell.outputs):
                yield self.finding(ctx, "output-without-count", "has outputs but no execution count", cell=cell, fix=_RERUN_FIX)
