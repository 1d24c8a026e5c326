"""The only module importing nbformat: read, validate and write notebooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat

from nb2prod.errors import NotebookError

__all__ = ["NotebookNode", "read_notebook", "write_notebook"]

NotebookNode = nbformat.NotebookNode


def read_notebook(path: str | Path) -> Any:
    """Read a notebook as nbformat v4, or raise :class:`NotebookError` saying what is wrong."""
    p = Path(path)
    if not p.exists():
        raise NotebookError(f"{p}: no such notebook", fix="check the path (relative paths start at the current folder)")
    if p.is_dir():
        raise NotebookError(f"{p}: is a folder, not a notebook", fix="name an .ipynb file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{p}: cannot be read ({exc.__class__.__name__})", fix="check it is a readable UTF-8 .ipynb file") from exc
    try:
        nb = nbformat.reads(text, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise NotebookError(f"{p}: not a notebook (not valid JSON)", fix="open it in Jupyter and save it again, or restore it from version control") from exc
    except Exception as exc:  # nbformat raises many types for malformed documents
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise NotebookError(
            f"{p}: not a valid notebook ({exc.__class__.__name__}: {detail})", fix="open it in Jupyter and save it again"
        ) from exc
    if "cells" not in nb:
        raise NotebookError(f"{p}: not a notebook (no cells)", fix="name an .ipynb file saved by Jupyter")
    return nb


def write_notebook(nb: Any, path: str | Path) -> None:
    nbformat.write(nb, str(path))
