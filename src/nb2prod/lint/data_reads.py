"""Which files a notebook reads and writes, from its calls with (constant-folded) path arguments.

``pd.read_csv(DATA / "train.csv")`` with ``DATA = Path("data")`` in the parameters cell is a
read of ``data/train.csv``. Module-level string/``Path`` assignments are folded in notebook
order; ``os.path.join``, ``Path(...)``, ``/``, ``+`` and f-strings of known names are followed.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field

from nb2prod.lint.ipython_syntax import Magic
from nb2prod.lint.notebook import CallSite, Cell, ParsedNotebook

__all__ = ["DOWNLOAD_COMMANDS", "DataEvents", "FileAccess", "data_events", "file_accesses", "fold_path", "shell_creates_files"]

_READERS = re.compile(
    r"^(read_(csv|table|parquet|excel|json|feather|pickle|hdf|orc|stata|sas|spss|fwf|xml|text|bytes)|scan_(csv|parquet|ndjson)"
    r"|ExcelFile|load|loadtxt|genfromtxt|fromfile|loadmat|imread|open_dataset|open_mfdataset|File|load_workbook|read_file)$"
)
_WRITERS = re.compile(
    r"^(to_(csv|parquet|excel|json|pickle|feather|hdf|orc|stata|xml|html|latex|markdown)|savefig|save|savetxt|savez\w*|write_text|write_bytes|dump|imwrite|urlretrieve)$"
)
_SECOND_ARG_WRITERS = frozenset({"dump", "save", "urlretrieve"})  # joblib.dump(obj, path), torch.save(obj, path)
# ``load`` of these is never a local file: a dataset/environment/model name or a hub reference.
_NOT_FILE_LOADERS = re.compile(
    r"^(tensorflow_datasets\.|tfds\.|gym\.|gymnasium\.|tf_agents\.|suite_\w+\.|datasets\.|torch\.hub\.|spacy\.|nltk\.|"
    r"torchvision\.datasets\.|keras\.datasets\.|tensorflow\.keras\.datasets\.|sklearn\.datasets\.|seaborn\.load_dataset|"
    r"transformers\.|sentence_transformers\.|gensim\.downloader\.|huggingface_hub\.|timm\.|whisper\.|yaml\.|json\.|pickle\.)"
)
# Loaders known to take a file path (any spelling, with or without an extension).
_FILE_LOADERS = frozenset({"numpy.load", "torch.load", "joblib.load", "scipy.io.loadmat", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile"})
# Calls that create files the linter cannot name (archive extraction, downloads, copies, subprocesses).
_CREATORS = re.compile(
    r"^(extractall|unpack_archive|urlretrieve|get_file|download|download_url|download_and_extract_archive|hf_hub_download|snapshot_download"
    r"|retrieve|make_archive)$"
)
_COPIES = frozenset({"copyfile", "copy", "copy2", "copytree", "move", "rename", "renames"})
_SUBPROCESS = frozenset({"os.system", "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.Popen", "subprocess.check_output"})


_IMAGES = frozenset({"png", "jpg", "jpeg", "pdf", "svg", "tif", "tiff", "gif", "bmp", "webp", "eps"})
_MODELS = frozenset({"h5", "keras", "pt", "pth", "pkl", "pickle", "joblib", "model", "bin", "safetensors", "ckpt", "npy", "onnx", "json", "tf"})
_KINDS: dict[str, frozenset[str]] = {
    "to_csv": frozenset({"csv", "tsv", "txt", "gz", "zip", "bz2", "xz"}),
    "to_parquet": frozenset({"parquet", "pq"}),
    "to_excel": frozenset({"xlsx", "xls"}),
    "to_json": frozenset({"json", "jsonl", "gz"}),
    "to_feather": frozenset({"feather"}),
    "to_hdf": frozenset({"h5", "hdf5", "hdf"}),
    "to_html": frozenset({"html", "htm"}),
    "savefig": _IMAGES,
    "imwrite": _IMAGES,
    "savez": frozenset({"npz"}),
    "savez_compressed": frozenset({"npz"}),
    "savetxt": frozenset({"txt", "csv", "dat", "tsv"}),
    "to_pickle": frozenset({"pkl", "pickle", "gz", "bz2", "xz", "zip"}),
    "dump": _MODELS,
}


def _written_kinds(last: str, dotted: str) -> frozenset[str] | None:
    """File extensions a write to a computed path can produce; ``None`` when it could be any file."""
    if last == "save":
        return _IMAGES if any(part in dotted.lower() for part in ("image", "img", "fromarray", "fig", "pil")) else _MODELS
    return _KINDS.get(last)


def _creates_files(last: str, dotted: str, target: str) -> bool:
    if _CREATORS.match(last) or target in _SUBPROCESS:
        return True
    if last == "extract":  # ZipFile/TarFile.extract, not pandas' ``.str.extract``
        return ".str." not in dotted and not dotted.startswith("re.")
    return last in _COPIES and target.split(".", 1)[0] in {"os", "shutil"}


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
_EXTENSION_ADDED = {"numpy.save": ".npy", "numpy.savez": ".npz", "numpy.savez_compressed": ".npz"}
DOWNLOAD_COMMANDS = re.compile(
    r"^\s*(?:cd\s+\S+\s*&&\s*)?(wget|curl|unzip|tar|kaggle|gsutil|aws|gdown|dvc|git|huggingface-cli|az|rclone|cp|mv|7z|gunzip|bunzip2|"
    r"python3?|Rscript|make|jupyter|papermill|ln|rsync|scp|sh|bash|touch|split|xz|zcat|bzip2|gzip)\b"
)
_REDIRECT = re.compile(r"(?<![>2&])>{1,2}\s*[\w./{$~\"'-]")


def shell_creates_files(command: str) -> bool:
    """A shell command (``!`` line or ``%%bash`` body) that may create files: downloads, archives, scripts, redirects."""
    return any(DOWNLOAD_COMMANDS.match(line) or _REDIRECT.search(line) for line in command.splitlines() or [command])


@dataclass(frozen=True, slots=True)
class FileAccess:
    path: str  # as the notebook spells it, folded
    cell: Cell
    line: int
    call: str
    write: bool
    cwd: str | None = ""  # working folder relative to the notebook's when it runs (None: unknown, after a computed chdir)


def _join(pieces: list[str], *, keep_trailing: bool) -> str | None:
    """``os.path.join`` semantics: an absolute piece restarts, an empty last piece leaves a trailing ``/``."""
    result = ""
    for piece in pieces:
        if piece.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", piece):
            result = piece
        elif not result or result.endswith(("/", "\\")):
            result += piece
        else:
            result += "/" + piece
    if not keep_trailing and len(result) > 1:
        result = result.rstrip("/")
    return result or None


def fold_path(node: ast.AST | None, env: dict[str, str]) -> str | None:
    """The string a path expression evaluates to, when it is built from constants only."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            elif isinstance(value, ast.FormattedValue) and value.format_spec is None:
                folded = fold_path(value.value, env)
                if folded is None:
                    return None
                parts.append(folded)
            else:
                return None
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
        left, right = fold_path(node.left, env), fold_path(node.right, env)
        if left is None or right is None:
            return None
        return left + right if isinstance(node.op, ast.Add) else f"{left.rstrip('/')}/{right}"
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in {"Path", "PurePath", "PosixPath", "join"} and node.args:
            pieces = [fold_path(a, env) for a in node.args]
            if any(p is None for p in pieces):
                return None
            return _join([p for p in pieces if p is not None], keep_trailing=name == "join")
        if isinstance(func, ast.Attribute) and name == "joinpath":
            base = fold_path(func.value, env)
            rest = [fold_path(a, env) for a in node.args]
            if base is None or any(r is None for r in rest):
                return None
            return "/".join([base.rstrip("/"), *(r for r in rest if r)])
        if isinstance(func, ast.Attribute) and name in {"resolve", "absolute", "expanduser", "as_posix"}:
            return fold_path(func.value, env)
    return None


def _open_mode(call: ast.Call) -> str:
    mode: ast.AST | None = call.args[1] if len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    return mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"


def module_env(cell: Cell, env: dict[str, str]) -> None:
    """Fold the cell's top-level path assignments into ``env``; forget names it binds any other way."""
    assert cell.tree is not None
    simple: set[str] = set()
    for stmt in cell.tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = stmt.value
            for target in targets:
                if isinstance(target, ast.Name):
                    simple.add(target.id)
                    folded = fold_path(value, env)
                    if folded is None:
                        env.pop(target.id, None)
                    else:
                        env[target.id] = folded
    for name in cell.names.defs:
        if name not in simple:
            env.pop(name, None)


def _looks_like_file(path: str) -> bool:
    return bool(re.search(r"\.[A-Za-z0-9]{1,8}$", path)) or "/" in path.rstrip("/") or "\\" in path


@dataclass(slots=True)
class DataEvents:
    """Everything the data rule needs, in notebook order."""

    accesses: list[FileAccess]
    creators: list[tuple[Cell, int, str]]  # calls/commands that may create files the linter cannot name
    unresolved_reads: list[tuple[Cell, int, str]]  # reads whose path is computed at run time
    unknown_cwd: list[tuple[Cell, int]]  # chdir/%cd to a computed folder
    # writes to computed paths, with the file extensions they can produce (None: any)
    unresolved_writes: list[tuple[Cell, int, str, frozenset[str] | None]] = field(default_factory=list)


def _chdir(cwd: str | None, target: str | None) -> str | None:
    if cwd is None or target is None or target.startswith(("~", "$")):
        return None
    if target.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", target):
        return target
    return os.path.normpath(os.path.join(cwd, target)) if cwd else os.path.normpath(target)


def data_events(nb: ParsedNotebook) -> DataEvents:
    """Reads and writes of constant paths (with the working folder they resolve against), in notebook order."""
    env: dict[str, str] = {}
    events = DataEvents([], [], [], [])
    found = events.accesses
    cwd: str | None = ""
    for cell in nb.code_cells:
        if cell.tree is None:
            continue
        module_env(cell, env)
        items: list[tuple[int, int, CallSite | Magic]] = [(s.line, s.col, s) for s in cell.calls]
        items += [(m.line, -1, m) for m in cell.magics]
        for _, _, item in sorted(items, key=lambda t: (t[0], t[1])):
            if isinstance(item, Magic):
                if item.kind == "line" and item.name == "cd":
                    target = item.args.strip().strip("'\"")
                    folded = None if (not target or target[:1] == "-" or "{" in target or "$" in target) else target
                    cwd = _chdir(cwd, folded)
                    if cwd is None:
                        events.unknown_cwd.append((cell, item.line))
                elif item.kind == "cell" and item.name == "writefile" and item.args.split():
                    found.append(FileAccess(item.args.split()[-1], cell, item.line, "%%writefile", True, cwd))
                continue
            call, dotted, line = item.node, item.dotted, item.line
            last = dotted.rsplit(".", 1)[-1]
            target = nb.resolve(dotted)
            receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
            if last == "chdir" and target in {"os.chdir", "chdir"}:
                cwd = _chdir(cwd, fold_path(call.args[0], env) if call.args else None)
                if cwd is None:
                    events.unknown_cwd.append((cell, line))
                continue
            if last == "open" and (dotted == "open" or target in {"io.open", "codecs.open"} or receiver is not None):
                plain = dotted in {"open", "io.open", "codecs.open"}
                node = call.args[0] if call.args and plain else receiver
                path = fold_path(node, env)
                if path is not None:
                    mode = (
                        _open_mode(call)
                        if plain
                        else (call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str) else "r")
                    )
                    found.append(FileAccess(path, cell, line, dotted, any(m in mode for m in "wax+"), cwd))
                elif plain and call.args and "w" not in _open_mode(call) and "a" not in _open_mode(call):
                    events.unresolved_reads.append((cell, line, dotted))
                continue
            if last == "connect":  # sqlite3.connect creates the database file when it is missing
                path = fold_path(call.args[0], env) if call.args else None
                if path and re.search(r"\.(db|sqlite3?|duckdb)$", path):
                    found.append(FileAccess(path, cell, line, dotted, True, cwd))
                continue
            if _READERS.match(last):
                if _NOT_FILE_LOADERS.match(target) or _NOT_FILE_LOADERS.match(dotted):
                    continue
                path = fold_path(call.args[0], env) if call.args else None
                if path is None:
                    for keyword in call.keywords:
                        if keyword.arg in {"filepath_or_buffer", "path", "io", "fname", "file", "path_or_buf", "filename"}:
                            path = fold_path(keyword.value, env)
                if path is None and last in {"read_text", "read_bytes"} and receiver is not None:
                    path = fold_path(receiver, env)
                if path is None:
                    if call.args and not isinstance(call.args[0], ast.Constant) and (last.startswith("read_") or target in _FILE_LOADERS):
                        events.unresolved_reads.append((cell, line, dotted))
                    continue
                if _URI.match(path) or any(c in path for c in "*?["):
                    continue  # remote (s3://, https://, file:/…) or a glob pattern: not one local file
                if last in {"load", "File", "read_file"} and target not in _FILE_LOADERS and not _looks_like_file(path):
                    continue  # ``spacy.load("en_core_web_sm")``-like names are not files
                writes = last == "File" and any(m in _open_mode(call) for m in "wax")  # h5py.File(path, "w")
                found.append(FileAccess(path, cell, line, dotted, writes, cwd))
                continue
            if _WRITERS.match(last):
                index = 1 if last in _SECOND_ARG_WRITERS else 0
                path = fold_path(call.args[index], env) if len(call.args) > index else None
                if path is None and last in {"write_text", "write_bytes"} and receiver is not None:
                    path = fold_path(receiver, env)
                if path is None and last in {"save", "savez", "savez_compressed"} and call.args:
                    path = fold_path(call.args[0], env)
                if path is None:  # a write to a computed path: it can only explain reads of its kind of file
                    events.unresolved_writes.append((cell, line, dotted, _written_kinds(last, dotted)))
                    continue
                added = _EXTENSION_ADDED.get(target)
                if added and not path.endswith(added):
                    path += added
                if last == "savefig" and not re.search(r"\.[A-Za-z0-9]{2,5}$", path):
                    path += ".png"  # matplotlib's default format when the name has no extension
                found.append(FileAccess(path, cell, line, dotted, True, cwd))
                continue
            if _creates_files(last, dotted, target):
                if last in _COPIES and len(call.args) > 1:
                    destination = fold_path(call.args[1], env)
                    if destination is not None:
                        found.append(FileAccess(destination, cell, line, dotted, True, cwd))
                        continue
                events.creators.append((cell, line, dotted))
    return events


def file_accesses(nb: ParsedNotebook) -> list[FileAccess]:
    """Reads and writes of constant paths, in notebook order."""
    return data_events(nb).accesses
