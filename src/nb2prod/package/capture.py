"""Capture the source of classes and functions defined in a notebook that a model needs.

A model pickled in a notebook refers to ``__main__.AffordabilityRatios``; in any other process
that name does not exist. nb2prod writes the *source* of every notebook-defined class or
function the model reaches (and what those reach in turn) into one generated module,
``model/nb_captured.py``, together with the imports and literal constants it uses, and pickles
the model so that those references point at the generated module.

Why source and not save-by-value (cloudpickle): the captured module is readable and reviewable
in the deployment folder, diffable between versions, independent of the Python version's
bytecode, and ``rebuild`` can compare it with the notebook. What cannot be written as source
(lambdas, closures, notebook variables holding arbitrary objects) is refused with a clear error.

Where the source comes from, most exact first: the cell the class's methods were compiled
from (``linecache``, which IPython fills per cell — this finds the definition the object was
built from even if the cell was edited later), ``inspect.getsource``, then the notebook
history (``In``), the last top-level definition of that name.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import inspect
import linecache
import sys
import textwrap
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nb2prod.errors import InvalidInputError

__all__ = ["NOTEBOOK_MODULES", "CapturedCode", "capture_source", "is_notebook_object", "module_name_for"]

NOTEBOOK_MODULES = frozenset({"__main__", "__mp_main__"})
_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__", "__class__", "__module__", "__qualname__"}
_LITERALS = (int, float, complex, str, bytes, bool, type(None))


@dataclass(slots=True)
class CapturedCode:
    """The generated module: its text, the module name it loads under, and what it defines."""

    source: str = ""
    module_name: str = ""
    definitions: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    top_modules: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.definitions


def is_notebook_object(obj: object) -> bool:
    """A class or plain function whose module is the notebook's (``__main__``)."""
    if not isinstance(obj, (type, types.FunctionType)):
        return False
    return getattr(obj, "__module__", None) in NOTEBOOK_MODULES


def module_name_for(source: str) -> str:
    """The import name a captured module loads under: unique per source text, stable across processes."""
    return "nb2prod_captured_" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def _is_literal(value: object, depth: int = 0) -> bool:
    if depth > 4:
        return False
    if isinstance(value, _LITERALS):
        return not (isinstance(value, float) and value != value)  # NaN has no literal
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value) <= 1000 and all(_is_literal(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return len(value) <= 1000 and all(_is_literal(k, depth + 1) and _is_literal(v, depth + 1) for k, v in value.items())
    return False


def _functions_of(cls: type) -> list[types.FunctionType]:
    found: list[types.FunctionType] = []
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            value = value.fget
        if isinstance(value, types.FunctionType) and value.__qualname__.startswith(cls.__qualname__ + "."):
            found.append(value)
    return found


def _segment_with_decorators(text: str, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    lines = text.splitlines(keepends=True)
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    end = node.end_lineno or node.lineno
    return textwrap.dedent("".join(lines[start:end]))


def _from_cell(obj: type | types.FunctionType) -> str | None:
    """Source from the cell (linecache file) the object's code was compiled from."""
    codes = [f.__code__ for f in _functions_of(obj)] if isinstance(obj, type) else [obj.__code__]
    for code in codes:
        text = "".join(linecache.getlines(code.co_filename))
        if not text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        wanted = ast.ClassDef if isinstance(obj, type) else (ast.FunctionDef, ast.AsyncFunctionDef)
        for node in ast.walk(tree):
            if isinstance(node, wanted) and node.name == obj.__name__:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if first <= code.co_firstlineno <= (node.end_lineno or node.lineno):
                    return _segment_with_decorators(text, node)
    return None


def _from_history(name: str, history: Sequence[str]) -> str | None:
    """The last top-level definition of ``name`` in the notebook's executed cells."""
    for cell in reversed(history):
        try:
            tree = ast.parse(cell)
        except SyntaxError:
            continue
        for node in reversed(tree.body):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                return _segment_with_decorators(cell, node)
    return None


def _source_of(obj: type | types.FunctionType, history: Sequence[str]) -> str:
    name = obj.__qualname__
    if "<locals>" in name or "." in name:
        raise InvalidInputError(
            f"the model uses {name}, which is defined inside another function or class in the notebook",
            fix="define it at the top level of a notebook cell, then fit and %deploy again",
        )
    if isinstance(obj, types.FunctionType):
        if obj.__name__ == "<lambda>":
            raise InvalidInputError(
                "the model uses a lambda defined in the notebook, which cannot be saved as source",
                fix="replace the lambda with a named `def` function, refit, and %deploy again",
            )
        if obj.__closure__:
            raise InvalidInputError(
                f"the model uses function {name}, which is a closure over local variables",
                fix="make it a top-level function (pass values as arguments), refit, and %deploy again",
            )
    source = _from_cell(obj)
    if source is None:
        try:
            source = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError):
            source = None
    if source is None:
        source = _from_history(obj.__name__, history)
    if source is None:
        raise InvalidInputError(
            f"cannot find the source of {name}, defined in the notebook and used by the model",
            fix="run the cell that defines it again (so its source is in the notebook history) and %deploy again",
        )
    return source


class _Names(ast.NodeVisitor):
    """Names a definition loads, and names it binds anywhere inside (arguments, assignments…)."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.bound: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loaded.append(node.id)
        else:
            self.bound.add(node.id)

    def visit_arg(self, node: ast.arg) -> None:
        self.bound.add(node.arg)
        self.generic_visit(node)

    def _bind_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, top: bool) -> None:
        if not top:
            self.bound.add(node.name)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._bind_def(node, False)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind_def(node, False)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.bound.add((alias.asname or alias.name).split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.bound.add(alias.asname or alias.name)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        return None


def _free_names(source: str, own_name: str) -> list[str]:
    tree = ast.parse(source)
    visitor = _Names()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            # decorators and bases are evaluated in the enclosing (module) scope
            visitor.generic_visit(node)
        else:
            visitor.visit(node)
    seen: dict[str, None] = {}
    for name in visitor.loaded:
        if name not in visitor.bound and name not in _BUILTINS and name != own_name:
            seen.setdefault(name, None)
    return list(seen)


def _namespace_of(obj: type | types.FunctionType, fallback: Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(obj, types.FunctionType):
        return obj.__globals__
    for func in _functions_of(obj):
        return func.__globals__
    return fallback


def _importable(obj: object) -> tuple[str, str] | None:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not module or not qualname or module in NOTEBOOK_MODULES or "<locals>" in qualname:
        return None
    target: Any = sys.modules.get(module)
    if target is None:
        return None
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return (module, qualname) if target is obj else None


def capture_source(
    objects: Sequence[type | types.FunctionType],
    *,
    namespace: Mapping[str, Any] | None = None,
    history: Sequence[str] = (),
    title: str = "",
) -> CapturedCode:
    """Write one module defining ``objects`` and everything notebook-defined they need.

    ``namespace`` is the notebook's globals (used when a class has no methods to find them);
    ``history`` the executed cells' sources (a last resort for finding definitions).
    """
    result = CapturedCode()
    if not objects:
        return result
    fallback = namespace if namespace is not None else getattr(sys.modules.get("__main__"), "__dict__", {})
    imports: dict[str, None] = {}
    constants: dict[str, str] = {}
    ordered: list[tuple[str, str]] = []  # (name, source), dependencies first
    state: dict[str, str] = {}  # name -> "visiting" | "done"
    identity: dict[str, object] = {}

    def visit(obj: type | types.FunctionType) -> None:
        name = obj.__name__
        if state.get(name) == "done" or state.get(name) == "visiting":
            if identity.get(name) is not None and identity[name] is not obj:
                raise InvalidInputError(
                    f"the model uses two different notebook definitions named {name}",
                    fix=f"refit the model after the final definition of {name} and %deploy again",
                )
            return
        state[name] = "visiting"
        identity[name] = obj
        source = _source_of(obj, history)
        ns = _namespace_of(obj, fallback)
        for free in _free_names(source, name):
            if free not in ns:
                result.warnings.append(f"{name} uses {free!r}, which is not defined in the notebook namespace")
                continue
            value = ns[free]
            if isinstance(value, types.ModuleType):
                module = value.__name__
                line = f"import {module}" if module == free else f"import {module} as {free}"
                if "." in module and module.rsplit(".", 1)[1] == free:
                    line = f"from {module.rsplit('.', 1)[0]} import {free}"
                imports.setdefault(line, None)
                result.top_modules.add(module.split(".")[0])
            elif is_notebook_object(value):
                visit(value)
            elif (where := _importable(value)) is not None:
                module, qualname = where
                head = qualname.split(".")[0]
                if "." in qualname:
                    imports.setdefault(f"from {module} import {head} as _{head}", None)
                    constants[free] = f"{free} = _{qualname}"
                else:
                    imports.setdefault(f"from {module} import {qualname}" + ("" if qualname == free else f" as {free}"), None)
                result.top_modules.add(module.split(".")[0])
            elif _is_literal(value):
                constants[free] = f"{free} = {value!r}"
            else:
                raise InvalidInputError(
                    f"{name} (defined in the notebook) uses the notebook variable {free!r} of type "
                    f"{type(value).__name__}, which cannot be written as source",
                    fix=f"pass {free} to {name} as a parameter (or make it a literal constant), refit, and %deploy again",
                )
        state[name] = "done"
        ordered.append((name, source))

    for obj in objects:
        visit(obj)

    header = f'"""Notebook code captured by nb2prod %deploy{(" for " + title) if title else ""}.\n\n' \
             "Generated: the classes and functions the model needs, with their imports. Do not edit —\n" \
             'change the notebook and %deploy again."""\n'
    parts = [header]
    if imports:
        parts.append("\n".join(imports) + "\n")
    if constants:
        parts.append("\n".join(constants.values()) + "\n")
    parts.extend(source.rstrip() + "\n" for _, source in ordered)
    text = "\n\n".join(parts)
    try:
        compile(text, "nb_captured.py", "exec")
    except SyntaxError as exc:  # pragma: no cover - sources came from parsed cells
        raise InvalidInputError(f"captured notebook code does not compile: {exc}", fix="check the notebook cell") from exc
    result.source = text
    result.module_name = module_name_for(text)
    result.definitions = [name for name, _ in ordered]
    result.imports = list(imports)
    return result
