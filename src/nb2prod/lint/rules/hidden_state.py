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
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from nb2prod.lint.definitions import IPYTHON_NAMES, broken_cell_bindings, history_definitions, is_predefined, local_module_names, run_target, script_names
from nb2prod.lint.names import Use
from nb2prod.lint.notebook import Cell
from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["IPYTHON_NAMES", "HiddenStateRule", "history_definitions"]

_FIX_ORDER = "move the cell that defines it above this one (or define it here), then restart and run all"


@dataclass(frozen=True, slots=True)
class _Wildcard:
    cell: int
    what: str


@register
class HiddenStateRule(Rule):
    id = "hidden-state"
    title = "Hidden state"
    checks: ClassVar[dict[str, Check]] = {
        "use-before-define": Check(Severity.ERROR, "A name is read before the cell that defines it; restart-and-run-all raises NameError."),
        "undefined-name": Check(Severity.ERROR, "A name is defined nowhere in the notebook; a fresh kernel raises NameError."),
        "deleted-definition": Check(Severity.ERROR, "A name exists only because of kernel history: code no longer in the notebook defined it."),
        "dunder-file": Check(Severity.WARNING, "__file__ is not defined in a notebook kernel."),
        "expansion-order": Check(
            Severity.WARNING,
            "A `!`/magic line names a Python variable (`{x}`, `$x`) that is only defined below: a fresh run passes the text unexpanded.",
        ),
    }

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        cells = [c for c in ctx.nb.cells if c.is_code and c.tree is not None]
        defined_by: dict[str, list[tuple[int, int]]] = {}  # name -> [(cell index, line)]
        wildcards: list[_Wildcard] = []
        for cell in cells:
            for name, line in cell.names.defs.items():
                defined_by.setdefault(name, []).append((cell.index, line))
            for module, line in cell.names.star_imports:
                exported = local_module_names(ctx, module)
                if exported is None:
                    wildcards.append(_Wildcard(cell.index, f"`from {module} import *`"))
                else:  # a module next to the notebook (``from preamble import *``): its names are known
                    for name in exported:
                        defined_by.setdefault(name, []).append((cell.index, line))
            for magic in cell.magics:
                for target in magic.targets:
                    defined_by.setdefault(target, []).append((cell.index, magic.line))
                if magic.name == "run":
                    script, by_module = run_target(magic.args)
                    names = None if by_module or script is None else script_names(ctx.nb.folder / script)
                    if names is None:
                        wildcards.append(_Wildcard(cell.index, f"`%run {magic.args}`"))
                    else:
                        for name in names:
                            defined_by.setdefault(name, []).append((cell.index, magic.line))
                elif magic.name == "pylab":
                    wildcards.append(_Wildcard(cell.index, "`%pylab`"))
                elif magic.name == "store" and magic.args.split()[:1] == ["-r"] and not magic.targets:
                    wildcards.append(_Wildcard(cell.index, "`%store -r`"))
        yield from self._expansions(ctx, cells, defined_by)
        broken = broken_cell_bindings(ctx)
        referenced = _referenced_names(cells)
        history_defs = history_definitions(ctx.history) if ctx.history else {}
        gap = _count_gap(cells)
        reported: set[tuple[str, int]] = set()
        for cell in cells:
            needs: list[tuple[Use, bool | None]] = [(u, False) for u in cell.names.needs]
            needs += [(u, True) for u in cell.names.deferred]
            needs += [(u, None) for u in cell.names.conditional]  # None: read only when an exception is handled
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
                if deferred is None:
                    if not sites and not any(w.cell <= cell.index for w in wildcards):
                        reported.add((name, cell.index))
                        yield self.finding(
                            ctx,
                            "undefined-name",
                            f"`{name}` is not defined anywhere in the notebook; it is read only if the `try` block raises, and then raises NameError instead",
                            cell=cell,
                            line=use.line,
                            severity=Severity.WARNING,
                            fix=f"import `{name}` from the module that defines it, in a cell above",
                        )
                    continue
                if sites and (deferred or any(index < cell.index or (index == cell.index and line < use.line) for index, line in sites)):
                    continue
                maybe = [index for index in broken.get(name, []) + broken.get("*", []) if index < cell.index or deferred]
                if maybe:
                    reported.add((name, cell.index))
                    yield self.finding(
                        ctx,
                        "undefined-name",
                        f"`{name}` may be defined in cell {maybe[-1]}, which does not parse; the linter cannot be sure",
                        cell=cell,
                        line=use.line,
                        severity=Severity.INFO,
                        fix=f"fix the syntax error in cell {maybe[-1]} (reported there)",
                    )
                    continue
                earlier_wildcard = [w for w in wildcards if w.cell <= cell.index]
                if sites and not deferred and earlier_wildcard:
                    reported.add((name, cell.index))
                    yield self.finding(
                        ctx,
                        "use-before-define",
                        f"`{name}` is defined only below (cell {sites[0][0]}); it may come from {earlier_wildcard[0].what} (cell {earlier_wildcard[0].cell})",
                        cell=cell,
                        line=use.line,
                        severity=Severity.WARNING,
                        fix=f"import `{name}` explicitly above this cell",
                    )
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
                if deferred and use.owner is not None and use.owner not in referenced:
                    where = "a lambda stored for later (no cell calls it)" if use.owner == "<stored>" else f"`{use.owner}`, which no cell calls"
                    yield self.finding(
                        ctx,
                        "undefined-name",
                        f"`{name}` is not defined anywhere in the notebook; it is read only inside {where}",
                        cell=cell,
                        line=use.line,
                        severity=Severity.WARNING,
                        fix=f"define or import `{name}` (or delete the unused code)",
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

    def _expansions(self, ctx: LintContext, cells: list[Cell], defined_by: dict[str, list[tuple[int, int]]]) -> Iterable[Finding]:
        """IPython expands ``$x``/``{x}`` in a ``!`` or magic line only if ``x`` exists then (else the text is
        left as is: ``$HOME`` is the shell's). A name defined nowhere is the shell's; one defined only
        below is a Python variable a fresh run does not have yet."""
        for cell in cells:
            for magic in cell.magics:
                for name in magic.expands:
                    sites = defined_by.get(name, [])
                    if not sites or is_predefined(name):
                        continue
                    if any(index < cell.index or (index == cell.index and line <= magic.line) for index, line in sites):
                        continue
                    later = [index for index, _ in sites if index > cell.index]
                    where = f"cell {later[0]} below" if later else "later in this cell"
                    yield self.finding(
                        ctx,
                        "expansion-order",
                        f"`{name}` in this {'shell' if magic.kind == 'shell' else 'magic'} line is a Python variable defined only in {where}; "
                        "a fresh run leaves it unexpanded",
                        cell=cell,
                        line=magic.line,
                        fix=_FIX_ORDER,
                    )
                    break


def _referenced_names(cells: list[Cell]) -> set[str]:
    """Every name read (or attribute accessed) anywhere: a function never referenced is never called."""
    found: set[str] = set()
    for cell in cells:
        for node in cell.nodes:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                found.add(node.id)
            elif isinstance(node, ast.Attribute):
                found.add(node.attr)
        for magic in cell.magics:  # ``%timeit f()`` is already Python; ``%run -i``/``!{f()}`` may call it
            found.update(magic.expands)
            found.update(re.findall(r"[A-Za-z_]\w*", magic.args))
    return found


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
