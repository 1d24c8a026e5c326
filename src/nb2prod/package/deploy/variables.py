"""Which cell last bound a notebook variable, and whether the captured variables fit each other.

A notebook that reuses ``X_train`` or ``model`` after fitting would otherwise deploy against the
wrong data with a message about columns; this names the variable and the cell that rebound it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nb2prod.errors import InvalidInputError

__all__ = ["binding_cells", "check_variables"]


def _bound_names(tree: ast.AST) -> set[str]:
    """Module-level names a cell (re)binds: assignments, for/with targets, imports, defs, del."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Global):
            names.update(node.names)
    # names bound inside functions are local to them: take them back out
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    names.discard(inner.id)
    return names


def _parse(source: str) -> ast.AST | None:
    # IPython lines (magics, shell escapes) are not Python: blank them so the rest still parses
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def binding_cells(sources: Sequence[str], names: Iterable[str]) -> dict[str, int]:
    """``{name: position}`` of the last source (1-based) that binds each name; unbound names are left out."""
    wanted = set(names)
    found: dict[str, int] = {}
    for position, source in enumerate(sources, start=1):
        tree = _parse(source)
        if tree is None:
            continue
        for name in _bound_names(tree) & wanted:
            found[name] = position
    return found


def _n_columns(data: Any) -> int | None:
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) == 2:
        return int(shape[1])
    return None


def check_variables(model: Any, data: Any, *, model_var: str, data_var: str, where: Mapping[str, str],
                    holdout: Any = None, holdout_var: str | None = None, in_kernel: bool = False) -> None:
    """Refuse, naming the variable and where it was last bound, when the data does not fit the fitted model.

    ``where`` maps a variable to a place a person can find (``"cell 7"``, ``"In [12]"``); ``in_kernel``:
    called from ``%deploy`` in a live kernel (re-running cells is the fix) rather than a notebook run.
    """
    expected = getattr(model, "feature_names_in_", None)
    n_expected = getattr(model, "n_features_in_", None)
    for frame, var in ((data, data_var), (holdout, holdout_var)):
        if frame is None or var is None:
            continue
        columns = getattr(frame, "columns", None)
        problem = None
        if expected is not None and columns is not None:
            missing = [str(c) for c in expected if c not in set(map(str, columns))]
            if missing:
                problem = f"lacks column(s) {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} that {model_var} was fitted on"
        elif n_expected is not None and _n_columns(frame) is not None and _n_columns(frame) != int(n_expected):
            problem = f"has {_n_columns(frame)} columns but {model_var} was fitted on {int(n_expected)} features"
        if problem is None:
            continue
        places = [f"{v} was last assigned in {where[v]}" for v in (var, model_var) if v in where]
        raise InvalidInputError(
            f"{var} {problem}" + (f" ({'; '.join(places)})" if places else ""),
            fix=(f"re-run the cells that define {var} and {model_var} as they were for training, or pass the variable "
                 f"the model was trained on (--data/--holdout)") if in_kernel else
                (f"capture before the cell that rebinds {var} (--cell N or --upto TAG), or name the variable the model "
                 f"was trained on (--data/--holdout)"),
        )
