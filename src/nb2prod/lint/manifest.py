"""The data manifest: path, size and sha256 of every data file a notebook reads.

Stored in a sidecar file next to the notebook, ``<notebook>.nb2prod-manifest.json``, not in
the notebook's metadata: recording it must not rewrite a notebook the user may have open (the
editor would report "file changed on disk" and autosave could overwrite it), and a data refresh
should not show up as a notebook diff. A manifest already stored in the notebook metadata
(``metadata.nb2prod.data_manifest``) is still read. ``%deploy`` reuses ``data_manifest`` to
fingerprint the data a model was trained on.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from nb2prod.errors import InvalidInputError
from nb2prod.lint.data_reads import file_accesses
from nb2prod.lint.notebook import ParsedNotebook, load_notebook
from nb2prod.models import DataFile

__all__ = [
    "data_files",
    "data_manifest",
    "fingerprint",
    "manifest_path",
    "record_manifest",
    "recorded_manifest",
    "resolve_data_path",
]

_MAX_FILES_PER_FOLDER = 1000
_hash_cache: dict[tuple[str, int, int], str] = {}


def manifest_path(notebook: str | Path) -> Path:
    notebook = Path(notebook)
    return notebook.with_name(notebook.name + ".nb2prod-manifest.json")


def resolve_data_path(folder: Path, spelled: str) -> Path:
    return Path(os.path.expanduser(spelled)) if spelled.startswith("~") else (folder / spelled)


def fingerprint(path: Path) -> tuple[int, str]:
    """``(size, sha256)`` of a file, memoised on (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _hash_cache[key] = digest.hexdigest()
    return stat.st_size, _hash_cache[key]


def _display(folder: Path, path: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path)


def data_files(nb: ParsedNotebook) -> list[Path]:
    """Existing files the notebook reads (before writing them itself), in notebook order."""
    folder = nb.folder
    written: set[str] = set()
    seen: dict[str, Path] = {}
    for access in file_accesses(nb):
        if access.cwd is None:
            continue
        path = resolve_data_path(folder / access.cwd, access.path)
        key = os.path.normpath(str(path))
        if access.write:
            written.add(key)
            continue
        if key in written or key in seen:
            continue
        if path.is_file():
            seen[key] = path
        elif path.is_dir():
            for count, child in enumerate(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))):
                if count >= _MAX_FILES_PER_FOLDER:
                    break
                seen.setdefault(os.path.normpath(str(child)), child)
    return list(seen.values())


def data_manifest(notebook_path: str | Path) -> list[DataFile]:
    """Path (relative to the notebook folder), size and sha256 of every data file the notebook reads, now."""
    nb = load_notebook(notebook_path)
    result: list[DataFile] = []
    for path in data_files(nb):
        size, sha = fingerprint(path)
        result.append(DataFile(_display(nb.folder, path), size, sha))
    return result


def record_manifest(notebook_path: str | Path) -> tuple[Path, list[DataFile]]:
    """Write the sidecar manifest for ``notebook_path``; returns its path and entries."""
    files = data_manifest(notebook_path)
    target = manifest_path(notebook_path)
    payload = {
        "notebook": Path(notebook_path).name,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": [f.to_dict() for f in files],
    }
    target.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return target, files


def recorded_manifest(notebook_path: str | Path, metadata: dict[str, object] | None = None) -> list[DataFile] | None:
    """The manifest recorded for a notebook (sidecar first, then notebook metadata), or ``None``."""
    sidecar = manifest_path(notebook_path)
    entries: object = None
    if sidecar.exists():
        try:
            entries = json.loads(sidecar.read_text(encoding="utf-8")).get("files")
        except (OSError, ValueError, AttributeError) as exc:
            raise InvalidInputError(f"{sidecar}: unreadable data manifest", fix="delete it and run `nb2prod lint --fix manifest`") from exc
    elif metadata is not None:
        stored = metadata.get("nb2prod")
        entries = stored.get("data_manifest") if isinstance(stored, dict) else None
    if not isinstance(entries, list):
        return None
    return [DataFile(str(e["path"]), int(e["size"]), str(e["sha256"])) for e in entries if isinstance(e, dict) and {"path", "size", "sha256"} <= e.keys()]
