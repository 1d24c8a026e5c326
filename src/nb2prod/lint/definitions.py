"""Names a notebook's parsed cells get from elsewhere: IPython's predefined names, the kernel's
input history, ``%run`` scripts, local modules behind ``from m import *``, and cells that do not
parse (whose bindings are read from their text). The hidden-state rule asks these before it calls
a name undefined.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

from nb2prod.lint.ipython_syntax import transform_cell
from nb2prod.lint.names import analyze
from nb2prod.lint.rule import LintContext

__all__ = [
    "IPYTHON_NAMES",
    "broken_cell_bindings",
    "history_definitions",
    "is_predefined",
    "local_module_names",
    "run_target",
    "script_names",
]

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

def is_predefined(name: str) -> bool:
    return name in _KNOWN or bool(_HISTORY_NAME.match(name))


def run_target(args: str) -> tuple[str | None, bool]:
    """``%run [-i] [-t] script.py args`` → ``("script.py", False)``; ``-m`` → ``(None, True)``."""
    words = args.split()
    for word in words:
        if word == "-m":
            return None, True
        if not word.startswith("-"):
            return word, False
    return None, False


def script_names(path: Path) -> set[str] | None:
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


_BINDING = re.compile(
    r"^[ \t]*(?:def|class)[ \t]+(\w+)|^[ \t]*for[ \t]+([\w, \t()]+?)[ \t]+in\b|\bas[ \t]+(\w+)|^[ \t]*import[ \t]+([\w., \t]+)"
    r"|^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]+\(?([\w, \t]+)|^[ \t]*([\w, \t()\[\]*]+?)[ \t]*(?:[-+*/%&|^@]|//|\*\*|>>|<<)?=(?!=)",
    re.M,
)


def broken_cell_bindings(ctx: LintContext) -> dict[str, list[int]]:
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
                script, _ = run_target(magic.args)
                names |= (script_names(ctx.nb.folder / script) or set()) if script else set()
                if script is None or script_names(ctx.nb.folder / script) is None:
                    found.setdefault("*", []).append(cell.index)  # it may define anything
            for name in names:
                found.setdefault(name, []).append(cell.index)
        if re.search(r"^\s*from\s+\S+\s+import\s+\*", cell.python or cell.source, re.M):
            found.setdefault("*", []).append(cell.index)
    return found


def local_module_names(ctx: LintContext, module: str) -> set[str] | None:
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
