"""Hidden state: names a fresh kernel would not have when a cell runs.

Magics-aware: ``%%capture x``, ``x = !cmd``, ``%store -r x``, ``%run script.py`` (the script's
top-level names), ``get_ipython``, ``display`` and IPython's other builtins are definitions,
not errors. ``from m import *``, ``%pylab``, an unresolvable ``%run`` and a bare ``%store -r``
may define anything: names that could come from them are reported as warnings, not errors.
With kernel history (``%nb2prod lint`` passes ``In``), names that exist only because of code no
longer in the notebook are reported as such.
"""

from __future__ import annotations

import ast
import builtins
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from nb2prod.lint.ipython_syntax import transform_cell
from nb2prod.lint.names import analyze
from nb2prod.lint.notebook import Cell
from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["IPYTHON_NAMES", "HiddenStateRule", "history_definitions"]

IPYTHON_NAMES = frozenset(
    {
        "get_ipython",
        "display",
        "In",
        "Out",
        "exit",
        "quit",
        "_",
        "__",
        "___",
        "_i",
        "_ii",
        "_iii",
        "_ih",
        "_oh",
        "_dh",
        "__name__",
        "__doc__",
        "__builtins__",
        "__builtin__",
        "__spec__",
        "__loader__",
        "__package__",
        "__session__",
        "__annotations__",
    }
)
_HISTORY_NAME = re.compile(r"^_i{0,3}\d+$")
_KNOWN = frozenset(dir(builtins)) | IPYTHON_NAMES
_FIX_ORDER = "move the cell that defines it above this one (or define it here), then restart and run all"


def is_predefined(name: str) -> bool:
    return name in _KNOWN or bool(_HISTORY_NAME.match(name))


@dataclass(frozen=True, slots=True)
class _Wildcard:
    cell: int
    what: str


def _run_target(args: str) -> tuple[str | None, bool]:
    """``%run [-i] [-t] script.py args`` → ``("script.py", False)``; ``-m`` → ``(None, True)``."""
    words = args.split()
    for word in words:
        if word == "-m":
            return None, True
        if not word.startswith("-"):
            return word, False
    return None, False


def _script_names(path: Path) -> set[str] | None:
    """Top-level names a ``%run`` of ``path`` leaves in the namespace, or ``None`` if unknown."""
    try:
        if path.suffix == ".ipynb":
            from nb2prod.lint.notebook import load_notebook

            parsed = load_notebook(path)
            return {name for cell in parsed.code_cells for name in cell.names.defs}
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except Exception:  # unreadable script: treat as unknown
        return None
    return set(analyze(tree).defs)


def history_definitions(history: list[str]) -> dict[str, int]:
    """Names bound by each kernel input (``In[k]``): ``{name: last k defining it}``."""
    found: dict[str, int] = {}
    for number, source in enumerate(history):
        if not source or not source.strip():
            continue
        try:
            tree = ast.parse(transform_cell(source).python)
        except (SyntaxError, ValueError):
            continue
        for name in analyze(tree).defs:
            found[name] = number
    return found


@register
class HiddenStateRule(Rule):
    id = "hidden-state"
    title = "Hidden state"
    checks: ClassVar[dict[str, Check]] = {
        "use-before-define": Check(Severity.ERROR, "A name is read before the cell that defines it; restart-and-run-all raises NameError."),
        "undefined-name": Check(Severity.ERROR, "A name is defined nowhere in the notebook; a fresh kernel raises NameError."),
        "deleted-definition": Check(Severity.ERROR, "A name exists only because of kernel history: code no longer in the notebook defined it."),
        "dunder-file": Check(Severity.WARNING, "__file__ is not defined in a notebook kernel."),
    }

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        cells = [c for c in ctx.nb.cells if c.is_code and c.tree is not None]
        defined_by: dict[str, list[tuple[int, int]]] = {}  # name -> [(cell index, line)]
        wildcards: list[_Wildcard] = []
        for cell in cells:
            for name, line in cell.names.defs.items():
                defined_by.setdefault(name, []).append((cell.index, line))
            for module, _line in cell.names.star_imports:
                wildcards.append(_Wildcard(cell.index, f"`from {module} import *`"))
            for magic in cell.magics:
                for target in magic.targets:
                    defined_by.setdefault(target, []).append((cell.index, magic.line))
                if magic.name == "run":
                    script, by_module = _run_target(magic.args)
                    names = None if by_module or script is None else _script_names(ctx.nb.folder / script)
                    if names is None:
                        wildcards.append(_Wildcard(cell.index, f"`%run {magic.args}`"))
                    else:
                        for name in names:
                            defined_by.setdefault(name, []).append((cell.index, magic.line))
                elif magic.name == "pylab":
                    wildcards.append(_Wildcard(cell.index, "`%pylab`"))
                elif magic.name == "store" and magic.args.split()[:1] == ["-r"] and not magic.targets:
                    wildcards.append(_Wildcard(cell.index, "`%store -r`"))
        history_defs = history_definitions(ctx.history) if ctx.history else {}
        gap = _count_gap(cells)
        reported: set[tuple[str, int]] = set()
        for cell in cells:
            needs = [(u, False) for u in cell.names.needs] + [(u, True) for u in cell.names.deferred]
            for use, deferred in needs:
                name = use.name
                if is_predefined(name) or (name, cell.index) in reported:
                    continue
                sites = defined_by.get(name, [])
                if name == "__file__" and not sites:
                    reported.add((name, cell.index))
                    yield self.finding(
                        ctx,
                        "dunder-file",
                        "`__file__` is not defined in a notebook kernel (NameError)",
                        cell=cell,
                        line=use.line,
                        fix="use a path relative to the notebook folder (the kernel's working directory), e.g. Path.cwd()",
                    )
                    continue
                if sites and (deferred or any(index < cell.index for index, _ in sites)):
                    continue
                if sites and not deferred:
                    later = [index for index, _ in sites if index > cell.index]
                    where = f"cell {later[0]} below" if later else "later in this same cell"
                    reported.add((name, cell.index))
                    yield self.finding(
                        ctx,
                        "use-before-define",
                        f"`{name}` is used before it is defined (first defined in {where})",
                        cell=cell,
                        line=use.line,
                        fix=_FIX_ORDER,
                        evidence=_order_evidence(ctx, cell, later[0] if later else None),
                    )
                    continue
                reported.add((name, cell.index))
                if name in history_defs:
                    yield self.finding(
                        ctx,
                        "deleted-definition",
                        f"`{name}` exists in the kernel only because of code no longer in the notebook (kernel input In[{history_defs[name]}])",
                        cell=cell,
                        line=use.line,
                        fix=f"add the code that defines `{name}` back to a cell above this one",
                        evidence=f"In[{history_defs[name]}] defines `{name}`; no cell of the notebook does",
                    )
                    continue
                possible = [w for w in wildcards if w.cell <= cell.index or deferred]
                if possible:
                    yield self.finding(
                        ctx,
                        "undefined-name",
                        f"`{name}` is not defined in the notebook; it may come from {possible[0].what} (cell {possible[0].cell})",
                        cell=cell,
                        line=use.line,
                        severity=Severity.WARNING,
                        fix=f"import `{name}` explicitly so a reader (and the linter) can see where it comes from",
                    )
                    continue
                yield self.finding(
                    ctx,
                    "undefined-name",
                    f"`{name}` is not defined anywhere in the notebook",
                    cell=cell,
                    line=use.line,
                    fix=f"define or import `{name}` in a cell above this one",
                    evidence=gap,
                )


def _count_gap(cells: list[Cell]) -> str | None:
    counts = sorted(c.execution_count for c in cells if c.execution_count is not None)
    for previous, current in itertools.pairwise(counts):
        if current > previous + 1:
            return f"execution counts jump from [{previous}] to [{current}]: code that ran then was deleted may have defined it"
    return None


def _order_evidence(ctx: LintContext, cell: Cell, later: int | None) -> str | None:
    if later is None or cell.execution_count is None:
        return None
    defining = ctx.nb.cells[later].execution_count
    if defining is not None and defining < cell.execution_count:
        return f"the saved session ran cell {later} as [{defining}] before this cell as [{cell.execution_count}]"
    return None
