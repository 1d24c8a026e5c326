"""Notebook paths from REST requests, confined to the server root."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from nb2prod.errors import NotFoundError, UsageError

__all__ = ["confine"]


def confine(root: str | Path, path: object, *, allow_hidden: bool = False) -> Path:
    """The file ``path`` names under ``root`` (root-relative, or absolute inside ``root``).

    Refuses (``UsageError``, HTTP 400) an empty path, any ``..`` part, a path outside the root —
    also through a symlink — and hidden parts unless ``allow_hidden``; a missing file is
    ``NotFoundError`` (404).
    """
    if not isinstance(path, str) or not path.strip() or "\x00" in path:
        raise UsageError("give the notebook's path relative to the server root", fix="e.g. path=notebooks/analysis.ipynb")
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if ".." in parts:
        raise UsageError(f"{path!r} goes up with '..': only files under the server root can be read", fix="give a path under the server root")
    base = Path(root).resolve()
    given = Path(path)
    target = (given if given.is_absolute() else base / given).resolve()
    if not target.is_relative_to(base):
        raise UsageError(f"{path!r} is outside the server root", fix="give a path under the server root")
    if not allow_hidden and any(part.startswith(".") for part in target.relative_to(base).parts):
        raise UsageError(f"{path!r} is hidden", fix="move the notebook out of hidden folders, or start the server with --ContentsManager.allow_hidden=True")
    if not target.is_file():
        raise NotFoundError(f"{path}: no such file under the server root", fix="check the path (it is relative to the server root)")
    return target
