"""Fingerprints tying a version to its data and code: frame hashes, file hashes, notebook hash."""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DATA_SUFFIXES", "code_fingerprint", "data_files_in", "file_sha256", "frame_sha256", "text_sha256"]

DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".feather", ".json", ".jsonl", ".xlsx", ".xls", ".arrow", ".txt", ".gz", ".zip")


def frame_sha256(frame: pd.DataFrame | pd.Series) -> str:
    """Content hash of a frame or series: values (row order matters), column names and dtypes; not the index."""
    import pandas as pd

    digest = hashlib.sha256()
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(name=str(frame.name))
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_files_in(sources: Iterable[str], base: Path) -> list[Path]:
    """Existing data files named by string literals in code cells (``pd.read_csv("data/x.csv")``)."""
    found: dict[Path, None] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower().endswith(DATA_SUFFIXES):
                if len(node.value) > 500 or "\n" in node.value:
                    continue
                candidate = Path(node.value).expanduser()
                candidate = candidate if candidate.is_absolute() else base / candidate
                try:
                    if candidate.is_file():
                        found.setdefault(candidate.resolve(), None)
                except OSError:
                    continue
    return list(found)


def code_fingerprint(
    *, notebook: Path | None, code_cells: Sequence[str], captured_source: str, history: Sequence[str] = ()
) -> dict[str, Any]:
    """Notebook file hash, hash of its code cells (outputs ignored), and of the captured module."""
    result: dict[str, Any] = {"captured_sha256": text_sha256(captured_source) if captured_source else None}
    if notebook is not None and notebook.is_file():
        result["notebook"] = str(notebook)
        result["notebook_sha256"] = file_sha256(notebook)
    if code_cells:
        result["code_cells_sha256"] = text_sha256("\n# -- cell --\n".join(code_cells))
        result["code_cells"] = len(code_cells)
    if history:
        result["history_sha256"] = text_sha256("\n# -- cell --\n".join(history))
    return result
