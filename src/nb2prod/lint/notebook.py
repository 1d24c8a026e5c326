"""The parsed-notebook model every rule reads: cells, their Python, names, calls, strings, imports.

Built once per notebook (``parse_notebook`` from a dict, ``load_notebook`` from a file) so that
rules never re-parse: each code cell carries its magic-free Python, its AST, the names it
defines and needs, its calls (with dotted names), its string literals and its imports.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.lint.ipython_syntax import Magic, automagic_candidate, transform_cell
from nb2prod.lint.names import CellNames, analyze

__all__ = [
    "CallSite",
    "Cell",
    "ImportRef",
    "ParsedNotebook",
    "StringLit",
    "dotted_name",
    "ipynb_source_lines",
    "load_notebook",
    "parse_code",
    "parse_notebook",
]


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call in a cell: ``np.random.seed(0)`` has ``dotted == "np.random.seed"``."""

    dotted: str
    node: ast.Call
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class StringLit:
    """A string constant in a cell, with the dotted name of the call it is an argument of."""

    value: str
    line: int
    col: int
    call: str | None = None
    keyword: str | None = None
    target: str | None = None  # name it is assigned to, for ``NAME = "..."``


@dataclass(frozen=True, slots=True)
class ImportRef:
    """One imported name: ``import numpy as np`` binds ``np`` to ``numpy``."""

    bound: str
    target: str  # fully qualified: "numpy", "sklearn.ensemble.RandomForestClassifier"
    module: str  # the module named in the statement ("." for a relative import)
    line: int
    relative: bool = False

    @property
    def top(self) -> str:
        return self.module.split(".")[0]


@dataclass(slots=True)
class Cell:
    index: int
    id: str | None
    cell_type: str
    source: str
    execution_count: int | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    python: str = ""
    magics: tuple[Magic, ...] = ()
    tree: ast.Module | None = None
    syntax_error: tuple[str, int] | None = None
    names: CellNames = field(default_factory=CellNames)
    calls: list[CallSite] = field(default_factory=list)
    strings: list[StringLit] = field(default_factory=list)
    imports: list[ImportRef] = field(default_factory=list)
    nodes: list[ast.AST] = field(default_factory=list)  # every AST node, breadth first

    @property
    def is_code(self) -> bool:
        return self.cell_type == "code"

    @property
    def is_empty(self) -> bool:
        return not self.source.strip()

    @property
    def tags(self) -> list[str]:
        tags = self.metadata.get("tags", [])
        return list(tags) if isinstance(tags, list) else []


@dataclass(slots=True)
class ParsedNotebook:
    cells: list[Cell]
    metadata: dict[str, Any]
    path: Path | None = None
    language: str = "python"
    aliases: dict[str, str] = field(default_factory=dict)
    raw: Any = None  # the notebook as read (a NotebookNode from a file), for re-execution

    @property
    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.is_code]

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    @property
    def is_python(self) -> bool:
        return self.language == "python"

    def resolve(self, dotted: str) -> str:
        """``"np.random.seed"`` → ``"numpy.random.seed"`` through the notebook's imports."""
        head, dot, rest = dotted.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return dotted
        return f"{target}{dot}{rest}"


def dotted_name(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # np.random.default_rng().integers → "np.random.default_rng().integers"
        inner = dotted_name(node.func)
        if inner is None:
            return None
        parts.append(inner + "()")
        return ".".join(reversed(parts))
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _source_text(source: Any) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, Sequence):
        return "".join(str(s) for s in source)
    return ""


def parse_code(cell: Cell, source: str | None = None) -> None:
    """Fill a code cell's Python, AST, names, calls, strings and imports (from ``source`` if given)."""
    cell.syntax_error, cell.tree = None, None
    cell.calls, cell.strings, cell.imports, cell.nodes = [], [], [], []
    cell.names = CellNames()
    transformed = transform_cell(cell.source if source is None else source)
    cell.python = transformed.python
    cell.magics = transformed.magics
    try:
        tree = ast.parse(transformed.python)
    except SyntaxError as exc:
        cell.syntax_error = (exc.msg or "invalid syntax", exc.lineno or 1)
        return
    except (ValueError, RecursionError) as exc:
        cell.syntax_error = (str(exc), 1)
        return
    cell.tree = tree
    cell.names = analyze(tree)
    if transformed.body_uncertain:  # an unknown cell magic's body: what it binds counts, its reads may never run
        cell.names.needs.clear()
        cell.names.deferred.clear()
    _collect(cell, tree)


def _collect(cell: Cell, tree: ast.Module) -> None:
    """One breadth-first pass: calls, imports, string literals (with the call they are passed to)."""
    context: dict[int, tuple[str | None, str | None]] = {}
    targets: dict[int, str] = {}
    nodes: list[ast.AST] = [tree]
    index = 0
    while index < len(nodes):
        node = nodes[index]
        index += 1
        nodes.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                call_name, keyword_name = context.get(id(node), (None, None))
                cell.strings.append(StringLit(node.value, node.lineno, node.col_offset, call_name, keyword_name, targets.get(id(node))))
        elif isinstance(node, ast.Call):
            dotted = dotted_name(node.func)
            if dotted is not None:
                cell.calls.append(CallSite(dotted, node, node.lineno, node.col_offset))
            for arg in node.args:
                context[id(arg)] = (dotted, None)
            for keyword in node.keywords:
                context[id(keyword.value)] = (dotted, keyword.arg)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            targets[id(node.value)] = node.targets[0].id
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                target = alias.name if alias.asname else alias.name.split(".")[0]
                cell.imports.append(ImportRef(bound, target, alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            relative = bool(node.level)
            for alias in node.names:
                if alias.name == "*":
                    continue
                bound = alias.asname or alias.name
                cell.imports.append(ImportRef(bound, f"{module}.{alias.name}" if module else alias.name, module or ".", node.lineno, relative))
    cell.nodes = nodes
    cell.imports.sort(key=lambda ref: ref.line)


def _language(metadata: Mapping[str, Any]) -> str:
    """``"python"``, ``"python2"`` (a Python 2 kernel: its code is not Python 3) or the kernel's language."""
    kernelspec = metadata.get("kernelspec") or {}
    info = metadata.get("language_info") or {}
    language = str(kernelspec.get("language") or info.get("name") or "python").lower()
    if not (language.startswith("python") or language in {"ipython", "ipython2", "ipython3"}):
        return language
    version = str(info.get("version") or "")
    mode = info.get("codemirror_mode")
    mode_version = mode.get("version") if isinstance(mode, Mapping) else None
    if str(kernelspec.get("name") or "").lower() in {"python2", "python27", "python2.7"} or version.startswith("2.") or mode_version == 2:
        return "python2"
    return "python"


def parse_notebook(nb: Mapping[str, Any], path: str | Path | None = None) -> ParsedNotebook:
    """Parse an nbformat-v4 notebook (a dict or ``NotebookNode``) into the lint model."""
    metadata = dict(nb.get("metadata") or {})
    parsed = ParsedNotebook(cells=[], metadata=metadata, path=Path(path) if path is not None else None, language=_language(metadata), raw=nb)
    for index, raw in enumerate(nb.get("cells") or []):
        if not isinstance(raw, Mapping):
            continue
        cell = Cell(
            index=index,
            id=raw.get("id"),
            cell_type=str(raw.get("cell_type", "code")),
            source=_source_text(raw.get("source", "")),
            execution_count=raw.get("execution_count") if isinstance(raw.get("execution_count"), int) else None,
            outputs=[dict(o) for o in raw.get("outputs") or [] if isinstance(o, Mapping)],
            metadata=dict(raw.get("metadata") or {}),
        )
        if cell.is_code and parsed.is_python:
            parse_code(cell)
            for ref in cell.imports:
                parsed.aliases.setdefault(ref.bound, ref.target)
        parsed.cells.append(cell)
    if parsed.is_python:
        _automagic(parsed)
    return parsed


def _automagic(parsed: ParsedNotebook) -> None:
    """One-line cells IPython runs as magics without ``%`` (``ls data``, ``pwd``): re-read them as
    magics unless a Python name of the notebook (or a builtin) shadows the magic, as IPython checks."""
    candidates: list[tuple[Cell, tuple[str, str]]] = []
    for cell in parsed.cells:
        if cell.is_code and not cell.magics and "\n" not in cell.source.strip():
            found = automagic_candidate(cell.source)
            if found is not None:
                candidates.append((cell, found))
    if not candidates:
        return
    bound = {name for cell in parsed.cells if cell.is_code for name in cell.names.defs}
    for cell, (name, source) in candidates:
        if name not in bound and name not in _BUILTINS and not keyword.iskeyword(name):
            parse_code(cell, source)


def load_notebook(path: str | Path) -> ParsedNotebook:
    """Read ``path`` (raises :class:`~nb2prod.errors.NotebookError`) and parse it."""
    from nb2prod.adapters.notebooks import read_notebook_json

    return parse_notebook(read_notebook_json(path), path)


_BUILTINS = frozenset(dir(builtins))
_CELL_START = re.compile(r'^\s*"cell_type":')
_SOURCE = re.compile(r'^\s*"source":\s*(\[)?')


def ipynb_source_lines(text: str) -> list[int | None]:
    """For each cell, the 1-based line of the ``.ipynb`` file holding its first source line.

    Works on files written by Jupyter/nbformat (one source line per JSON line); ``None`` where
    the layout is different (a minified file): SARIF then points at the file without a region.
    """
    lines = text.split("\n")
    starts: list[int | None] = []
    in_cell = False
    for number, line in enumerate(lines, start=1):
        if _CELL_START.match(line):
            starts.append(None)
            in_cell = True
            continue
        if in_cell:
            match = _SOURCE.match(line)
            if match:
                starts[-1] = number + 1 if match.group(1) else number
                in_cell = False
    return starts
