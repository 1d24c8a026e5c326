"""The only module importing nbformat: read, validate and write notebooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb2prod.errors import NotebookError

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = ["NotebookNode", "as_node", "new_code_cell", "read_notebook", "read_notebook_json", "write_notebook", "write_notebook_json"]


def __getattr__(name: str) -> Any:
    # nbformat is imported lazily: importing it costs seconds (jsonschema format checkers), and the
    # linter reads notebooks as plain JSON (read_notebook_json) without needing it.
    if name == "NotebookNode":
        import nbformat

        return nbformat.NotebookNode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _read_text(path: str | Path) -> tuple[Path, str]:
    """The notebook file's text, or a :class:`NotebookError` saying why it cannot be read."""
    p = Path(path)
    if not p.exists():
        raise NotebookError(f"{p}: no such notebook", fix="check the path (relative paths start at the current folder)")
    if p.is_dir():
        raise NotebookError(f"{p}: is a folder, not a notebook", fix="name an .ipynb file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{p}: cannot be read ({exc.__class__.__name__})", fix="check it is a readable UTF-8 .ipynb file") from exc
    return p, text


_NOT_IPYNB_FIX = "name a Jupyter notebook: an .ipynb file (or a folder of them)"


def _bad_json_fix(p: Path) -> str:
    """What to do about a file that is not notebook JSON: a .txt is no damaged notebook."""
    if p.suffix.lower() != ".ipynb":
        return f"{p.name} is not a notebook; {_NOT_IPYNB_FIX}"
    return "open it in Jupyter and save it again, or restore it from version control"


def read_notebook(path: str | Path) -> Any:
    """Read a notebook as nbformat v4, or raise :class:`NotebookError` saying what is wrong."""
    p, text = _read_text(path)
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise NotebookError(f"{p}: not a notebook (not valid JSON)", fix=_bad_json_fix(p)) from exc
    except Exception as exc:  # nbformat raises many types for malformed documents
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise NotebookError(
            f"{p}: not a valid notebook ({exc.__class__.__name__}: {detail})", fix="open it in Jupyter and save it again"
        ) from exc
    if "cells" not in nb:
        raise NotebookError(f"{p}: not a notebook (no cells)", fix="name an .ipynb file saved by Jupyter")
    return nb


def write_notebook(nb: Any, path: str | Path) -> None:
    import nbformat

    nbformat.write(nb, str(path))


def read_notebook_json(path: str | Path) -> dict[str, Any]:
    """Read an nbformat-4 notebook as plain JSON, without validating it (fast: for the linter).

    Raises :class:`NotebookError` like :func:`read_notebook`; notebooks older than format 4 are
    converted through nbformat.
    """
    p, text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{p}: not a notebook (not valid JSON: line {exc.lineno})", fix=_bad_json_fix(p)
        ) from exc
    if not isinstance(data, dict):
        raise NotebookError(f"{p}: not a notebook (JSON {type(data).__name__}, not an object)", fix="name an .ipynb file saved by Jupyter")
    if data.get("nbformat") != 4:
        if isinstance(data.get("nbformat"), int) and data["nbformat"] < 4:
            return dict(read_notebook(p))
        raise NotebookError(f"{p}: not a notebook (no nbformat 4 marker)", fix="name an .ipynb file saved by Jupyter")
    if not isinstance(data.get("cells"), list):
        raise NotebookError(f"{p}: not a notebook (no cells)", fix="name an .ipynb file saved by Jupyter")
    return data


def as_node(nb: Any) -> Any:
    """An nbformat ``NotebookNode`` (what nbclient executes) from a notebook dict."""
    import nbformat

    if isinstance(nb, nbformat.NotebookNode):
        return nb
    return nbformat.reads(json.dumps(nb), as_version=4)  # rejoins list-of-lines sources, upgrades minor versions


def new_code_cell(source: str) -> Any:
    """A new code cell with a fresh cell id."""
    import nbformat

    return nbformat.v4.new_code_cell(source)


def write_notebook_json(nb: dict[str, Any], path: str | Path) -> None:
    """Write a notebook dict the way Jupyter does (sorted keys, indent 1, sources as line lists), without nbformat."""
    for cell in nb.get("cells", []):
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
    Path(path).write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
