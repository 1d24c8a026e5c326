"""What a deploy knows about the notebook it came from: its path, code cells and parameters.

The notebook is named explicitly (``--notebook``) or found from ``JPY_SESSION_NAME``, which
jupyter_server sets in the kernels it starts (the session path, relative to the server root).
"""

from __future__ import annotations

import ast
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import NotebookError

__all__ = ["NotebookContext", "read_context", "resolve_notebook"]


@dataclass(slots=True)
class NotebookContext:
    path: Path | None = None
    code_cells: list[str] = field(default_factory=list)
    parameter_names: list[str] = field(default_factory=list)
    parameter_defaults: dict[str, Any] = field(default_factory=dict)

    def parameters(self, namespace: Mapping[str, Any] | None) -> dict[str, Any]:
        """The parameters' values now: from the kernel namespace when they are literals, else the defaults."""
        values = dict(self.parameter_defaults)
        for name in self.parameter_names:
            if namespace is not None and name in namespace:
                value = namespace[name]
                try:
                    if ast.literal_eval(repr(value)) == value:
                        values[name] = value
                except (ValueError, SyntaxError, TypeError, RecursionError):
                    continue
        return values


def resolve_notebook(explicit: str | Path | None, *, cwd: Path | None = None) -> Path | None:
    """The explicit path, else the notebook named by ``JPY_SESSION_NAME`` if it can be found."""
    if explicit:
        path = Path(explicit).expanduser()
        path = path if path.is_absolute() else (cwd or Path.cwd()) / path
        if not path.is_file():
            raise NotebookError(f"{path}: no such notebook", fix="check --notebook (relative paths start at the kernel's folder)")
        return path.resolve()
    session = os.environ.get("JPY_SESSION_NAME")
    if not session or not session.endswith(".ipynb"):
        return None
    here = cwd or Path.cwd()
    candidate = Path(session).expanduser()
    for path in (candidate, here / candidate, here / candidate.name):
        if path.is_absolute() and path.is_file():
            return path.resolve()
    return None


def read_context(path: Path | None) -> NotebookContext:
    """Code cells and the ``parameters`` cell's assignments of the notebook at ``path``."""
    if path is None:
        return NotebookContext()
    from nb2prod.adapters.notebooks import read_notebook

    nb = read_notebook(path)
    context = NotebookContext(path=path)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        context.code_cells.append(source)
        if "parameters" in (cell.get("metadata", {}).get("tags") or []) and not context.parameter_names:
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in tree.body:
                if not isinstance(node, (ast.Assign, ast.AnnAssign)):
                    continue
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        context.parameter_names.append(target.id)
                        value_node = node.value
                        if value_node is not None:
                            with contextlib.suppress(ValueError, SyntaxError, TypeError):
                                context.parameter_defaults[target.id] = ast.literal_eval(value_node)
    return context
