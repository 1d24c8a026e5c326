"""Which files a notebook reads and writes, from its calls with (constant-folded) path arguments.

``pd.read_csv(DATA / "train.csv")`` with ``DATA = Path("data")`` in the parameters cell is a
read of ``data/train.csv``. Module-level string/``Path`` assignments are folded in notebook
order; ``os.path.join``, ``Path(...)``, ``/``, ``+`` and f-strings of known names are followed.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from nb2prod.lint.notebook import Cell, ParsedNotebook

__all__ = ["DOWNLOAD_COMMANDS", "FileAccess", "file_accesses", "fold_path"]

_READERS = re.compile(
    r"^(read_(csv|table|parquet|excel|json|feather|pickle|hdf|orc|stata|sas|spss|fwf|xml|text|bytes)|scan_(csv|parquet|ndjson)"
    r"|ExcelFile|load|loadtxt|genfromtxt|fromfile|loadmat|imread|open_dataset|open_mfdataset|File|load_workbook|read_file)$"
)
_WRITERS = re.compile(
    r"^(to_(csv|parquet|excel|json|pickle|feather|hdf|orc|stata|xml|html|latex|markdown)|savefig|save|savetxt|savez\w*|write_text|write_bytes|dump|imwrite|urlretrieve)$"
)
_SECOND_ARG_WRITERS = frozenset({"dump", "save", "urlretrieve"})  # joblib.dump(obj, path), torch.save(obj, path)
DOWNLOAD_COMMANDS = re.compile(r"^\s*(wget|curl|unzip|tar|kaggle|gsutil|aws|gdown|dvc|git|huggingface-cli|az|rclone|cp|mv|7z)\b")


@dataclass(frozen=True, slots=True)
class FileAccess:
    path: str  # as the notebook spells it, folded
    cell: Cell
    line: int
    call: str
    write: bool


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
            return "/".join(p.rstrip("/") for p in pieces if p) or None
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


def _module_env(cell: Cell, env: dict[str, str]) -> None:
    assert cell.tree is not None
    for stmt in cell.tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = stmt.value
            for target in targets:
                if isinstance(target, ast.Name):
                    folded = fold_path(value, env)
                    if folded is None:
                        env.pop(target.id, None)
                    else:
                        env[target.id] = folded


def file_accesses(nb: ParsedNotebook) -> list[FileAccess]:
    """Reads and writes of constant paths, in notebook order."""
    env: dict[str, str] = {}
    found: list[FileAccess] = []
    for cell in nb.code_cells:
        if cell.tree is None:
            continue
        _module_env(cell, env)
        for site in sorted(cell.calls, key=lambda s: (s.line, s.col)):
            call = site.node
            last = site.dotted.rsplit(".", 1)[-1]
            target = nb.resolve(site.dotted)
            receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
            if last == "open" and (site.dotted == "open" or target in {"io.open", "codecs.open"} or receiver is not None):
                path = fold_path(call.args[0], env) if call.args and site.dotted in {"open", "io.open", "codecs.open"} else fold_path(receiver, env)
                if path is not None:
                    mode = (
                        _open_mode(call)
                        if site.dotted in {"open", "io.open", "codecs.open"}
                        else (call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str) else "r")
                    )
                    found.append(FileAccess(path, cell, site.line, site.dotted, any(m in mode for m in "wax+")))
                continue
            if last in {"connect"} and call.args:
                path = fold_path(call.args[0], env)
                if path and re.search(r"\.(db|sqlite3?|duckdb)$", path):
                    found.append(FileAccess(path, cell, site.line, site.dotted, False))
                continue
            if _READERS.match(last):
                path = fold_path(call.args[0], env) if call.args else None
                if path is None:
                    for keyword in call.keywords:
                        if keyword.arg in {"filepath_or_buffer", "path", "io", "fname", "file", "path_or_buf", "filename"}:
                            path = fold_path(keyword.value, env)
                if path is None and last in {"read_text", "read_bytes"} and receiver is not None:
                    path = fold_path(receiver, env)
                if path is not None and not path.startswith(("http://", "https://", "s3://", "gs://")):
                    found.append(FileAccess(path, cell, site.line, site.dotted, False))
                continue
            if _WRITERS.match(last):
                index = 1 if last in _SECOND_ARG_WRITERS else 0
                path = fold_path(call.args[index], env) if len(call.args) > index else None
                if path is None and last in {"write_text", "write_bytes"} and receiver is not None:
                    path = fold_path(receiver, env)
                if path is None and last in {"save", "savez"} and call.args:
                    path = fold_path(call.args[0], env)
                if path is not None:
                    found.append(FileAccess(path, cell, site.line, site.dotted, True))
        for magic in cell.magics:
            if magic.kind == "cell" and magic.name == "writefile" and magic.args.split():
                found.append(FileAccess(magic.args.split()[-1], cell, magic.line, "%%writefile", True))
    return found
