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
from nb2prod.lint.names import Use, analyze
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
                exported = _local_module_names(ctx, module)
                if exported is None:
                    wildcards.append(_Wildcard(cell.index, f"`from {module} import *`"))
                else:  # a module next to the notebook (``from preamble import *``): its names are known
                    for name in exported:
                        defined_by.setdefault(name, []).append((cell.index, line))
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
        yield from self._expansions(ctx, cells, defined_by)
        broken = _broken_cell_bindings(ctx)
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


_BINDING = re.compile(
    r"^[ \t]*(?:def|class)[ \t]+(\w+)|^[ \t]*for[ \t]+([\w, \t()]+?)[ \t]+in\b|\bas[ \t]+(\w+)|^[ \t]*import[ \t]+([\w., \t]+)"
    r"|^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]+\(?([\w, \t]+)|^[ \t]*([\w, \t()\[\]*]+?)[ \t]*(?:[-+*/%&|^@]|//|\*\*|>>|<<)?=(?!=)",
    re.M,
)


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


def _broken_cell_bindings(ctx: LintContext) -> dict[str, list[int]]:
    """Names cells that do not parse appear to bind (``x = …``, ``import x``, ``def x``), by cell."""
    found: dict[str, list[int]] = {}
    for cell in ctx.nb.code_cells:
        if cell.syntax_error is None:
            continue
        for match in _BINDING.finditer(cell.python or cell.source):
            for group in match.groups():
                for word in re.findall(r"[A-Za-z_]\w*", group or ""):
                    if word not in {"as", "import", "in"}:
                        found.setdefault(word, []).append(cell.index)
        for magic in cell.magics:  # ``%run script.py`` in a cell that does not parse never ran either
            names: set[str] = set(magic.targets)
            if magic.name == "run":
                script, _ = _run_target(magic.args)
                names |= (_script_names(ctx.nb.folder / script) or set()) if script else set()
                if script is None or _script_names(ctx.nb.folder / script) is None:
                    found.setdefault("*", []).append(cell.index)  # it may define anything
            for name in names:
                found.setdefault(name, []).append(cell.index)
        if re.search(r"^\s*from\s+\S+\s+import\s+\*", cell.python or cell.source, re.M):
            found.setdefault("*", []).append(cell.index)
    return found


def _local_module_names(ctx: LintContext, module: str) -> set[str] | None:
    """Names ``from module import *`` binds when ``module`` is a Python file beside the notebook (or in
    the project root); ``None`` when it is not local (an installed package: unknown)."""
    if not module or module == "." or ctx.nb.path is None:
        return None
    relative = Path(*module.split("."))
    for base in dict.fromkeys((ctx.nb.folder, ctx.project.root)):
        for candidate in (base / relative.with_suffix(".py"), base / relative / "__init__.py"):
            if candidate.is_file():
                try:
                    tree = ast.parse(candidate.read_text(encoding="utf-8"))
                except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
                    return None
                names = analyze(tree)
                if names.star_imports:
                    return None  # it re-exports another module's names: unknown
                declared = _dunder_all(tree)
                return declared if declared is not None else {n for n in names.defs if not n.startswith("_")}
    return None


def _dunder_all(tree: ast.Module) -> set[str] | None:
    for stmt in tree.body:
        if not isinstance(stmt, ast.Assign) or not any(isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets):
            continue
        if isinstance(stmt.value, (ast.List, ast.Tuple)):
            return {e.value for e in stmt.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return None


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
