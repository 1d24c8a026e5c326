"""Safe fixes: insert a seed cell, rewrite in-project absolute paths, write pinned requirements, record the data manifest.

Each fix changes only what it is sure about and says what it did; nothing is deleted or moved.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod.errors import UsageError
from nb2prod.lint.manifest import record_manifest
from nb2prod.lint.notebook import ParsedNotebook, parse_notebook
from nb2prod.lint.project import find_project, normalize, parse_requirement_line
from nb2prod.models import Record

__all__ = ["FIX_KINDS", "FixResult", "apply_fixes", "seed_cell_source"]

FIX_KINDS = ("seed", "paths", "requirements", "manifest")
_SEED_NAMES = ("seed", "SEED", "random_seed", "RANDOM_SEED", "random_state", "RANDOM_STATE")
_SEED_LINES = {
    "random": ("import random", "random.seed({seed})"),
    "numpy": ("import numpy", "numpy.random.seed({seed})"),
    "torch": ("import torch", "torch.manual_seed({seed})"),
    "tensorflow": ("import tensorflow", "tensorflow.random.set_seed({seed})"),
}


@dataclass(frozen=True, slots=True)
class FixResult(Record):
    kind: str
    path: str
    changed: bool
    detail: str


def _parameters_cell(nb: ParsedNotebook) -> int | None:
    for cell in nb.code_cells:
        if "parameters" in cell.tags:
            return cell.index
    return None


def seed_cell_source(nb: ParsedNotebook, families: Iterable[str]) -> tuple[str, int]:
    """The seed cell's source and the index to insert it at (after the parameters cell, else first)."""
    params = _parameters_cell(nb)
    seed_name = None
    if params is not None:
        seed_name = next((n for n in _SEED_NAMES if n in nb.cells[params].names.defs), None)
    lines = ["# Seed every random number generator this notebook uses (inserted by `nb2prod lint --fix seed`)."]
    if seed_name is None:
        seed_name = "SEED"
        lines.append("SEED = 42")
    for family in ("random", "numpy", "torch", "tensorflow"):
        if family in families:
            imp, call = _SEED_LINES[family]
            lines += [imp, call.format(seed=seed_name)]
    first_code = next((c.index for c in nb.code_cells), len(nb.cells))
    return "\n".join(lines), (params + 1 if params is not None else first_code)


def _new_cell(source: str, with_id: bool) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    if with_id:
        cell["id"] = uuid.uuid4().hex[:8]
    return cell


def _fix_seed(raw: dict[str, Any], nb: ParsedNotebook) -> str | None:
    from nb2prod.lint.rules.randomness import analyze_randomness

    analysis = analyze_randomness(nb)
    families = {d.family for d in analysis.unseeded} | {d.family for d, _c, _s in analysis.late_seeds}
    if analysis.sklearn:
        families.add("numpy")
    if not families:
        return None
    source, index = seed_cell_source(nb, families)
    with_id = (raw.get("nbformat"), raw.get("nbformat_minor", 0)) >= (4, 5)
    raw["cells"].insert(index, _new_cell(source, with_id))
    return f"inserted a seed cell at index {index} seeding {', '.join(sorted(families))}"


def _fix_paths(raw: dict[str, Any], nb: ParsedNotebook) -> str | None:
    from nb2prod.lint.rules.portability import absolute_path_kind, is_pathlike_call

    if nb.path is None:
        return None
    root = find_project(nb.folder).root.resolve()
    folder = nb.folder.resolve()
    changed: list[str] = []
    for cell in nb.code_cells:
        lines = cell.source.split("\n")
        touched = False
        for lit in cell.strings:
            value = lit.value
            expanded = os.path.expanduser(value) if value.startswith("~/") else value
            if not (value.startswith("~/") or absolute_path_kind(value, in_path_call=is_pathlike_call(lit.call)) == "posix"):
                continue
            target = Path(expanded)
            if not target.is_relative_to(root):
                continue
            relative = Path(os.path.relpath(target, folder)).as_posix()
            line = lines[lit.line - 1] if 0 < lit.line <= len(lines) else ""
            if line.count(value) != 1:
                continue
            lines[lit.line - 1] = line.replace(value, relative)
            touched = True
            changed.append(f"cell {cell.index}: {value!r} → {relative!r}")
        if touched:
            raw["cells"][cell.index]["source"] = "\n".join(lines)
    return "; ".join(changed) if changed else None


def _fix_requirements(nb: ParsedNotebook) -> tuple[str, str | None]:
    from nb2prod.lint.rules.environment import propose_lock

    project = find_project(nb.folder)
    lock = propose_lock(nb, project)
    missing = [line for line in lock if not project.declares(line.split("=")[0].split()[0])]
    target = nb.folder / "requirements.txt"
    if not missing:
        return str(target), None
    if target.exists():
        present = {p[0] for p in (parse_requirement_line(line) for line in target.read_text(encoding="utf-8").splitlines()) if p}
        missing = [line for line in missing if normalize(line.split("=")[0].split()[0]) not in present]
        if not missing:
            return str(target), None
        text = target.read_text(encoding="utf-8")
        addition = ("" if text.endswith("\n") or not text else "\n") + "# added by `nb2prod lint --fix requirements` (pinned from this interpreter)\n"
        target.write_text(text + addition + "\n".join(missing) + "\n", encoding="utf-8")
        return str(target), f"added {len(missing)} pinned requirement(s): {', '.join(missing)}"
    header = "# Pinned from the interpreter that ran `nb2prod lint --fix requirements`.\n"
    target.write_text(header + "\n".join(missing) + "\n", encoding="utf-8")
    return str(target), f"wrote {len(missing)} pinned requirement(s): {', '.join(missing)}"


def apply_fixes(notebook_path: str | Path, kinds: Iterable[str]) -> list[FixResult]:
    """Apply the named safe fixes to one notebook (and files next to it)."""
    from nb2prod.adapters.notebooks import read_notebook_json

    wanted = list(dict.fromkeys(FIX_KINDS if "all" in kinds else kinds))
    unknown = [k for k in wanted if k not in FIX_KINDS]
    if unknown:
        raise UsageError(f"unknown fix {unknown[0]!r}", fix=f"choose from {', '.join(FIX_KINDS)} or all")
    path = Path(notebook_path)
    raw = read_notebook_json(path)
    nb = parse_notebook(raw, path)
    results: list[FixResult] = []
    notebook_changed = False
    for kind in wanted:
        if kind in {"seed", "paths"}:
            detail = _fix_seed(raw, nb) if kind == "seed" else _fix_paths(raw, nb)
            if detail:
                notebook_changed = True
                nb = parse_notebook(raw, path)
            results.append(FixResult(kind, str(path), bool(detail), detail or "nothing to fix"))
        elif kind == "requirements":
            target, detail = _fix_requirements(nb)
            results.append(FixResult(kind, target, bool(detail), detail or "every import is already declared"))
        elif kind == "manifest":
            target_path, files = record_manifest(path)
            results.append(FixResult(kind, str(target_path), True, f"recorded {len(files)} data file(s)"))
    if notebook_changed:
        from nb2prod.adapters.notebooks import write_notebook_json

        write_notebook_json(raw, path)
    return results
