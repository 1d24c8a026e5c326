"""Data: files the notebook reads that are missing, changed since the manifest, or unrecorded."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import ClassVar

from nb2prod.errors import InvalidInputError
from nb2prod.lint.data_reads import DOWNLOAD_COMMANDS, FileAccess, file_accesses
from nb2prod.lint.manifest import fingerprint, manifest_path, recorded_manifest, resolve_data_path
from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["DataRule"]


def _is_absolute(spelled: str) -> bool:
    return spelled.startswith(("/", "\\", "~")) or (len(spelled) > 2 and spelled[1] == ":" and spelled[2] in "\\/")


@register
class DataRule(Rule):
    id = "data"
    title = "Data files"
    checks: ClassVar[dict[str, Check]] = {
        "missing-file": Check(Severity.ERROR, "The notebook reads a file that does not exist and that it does not create (FileNotFoundError)."),
        "changed": Check(Severity.WARNING, "A data file changed since its manifest was recorded: results will differ."),
        "unrecorded": Check(Severity.INFO, "Data files are read but no manifest (size, sha256) is recorded for them."),
        "bad-manifest": Check(Severity.WARNING, "The data manifest next to the notebook cannot be read."),
    }

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        nb = ctx.nb
        if nb.path is None:
            return
        folder = nb.folder
        written: set[str] = set()
        downloads: list[tuple[int, str]] = []
        reads: dict[str, FileAccess] = {}
        accesses = file_accesses(nb)
        shell_by_cell = {cell.index: [m for m in cell.magics if (m.kind == "shell" or m.name in {"bash", "sh", "system"})] for cell in nb.code_cells}
        order = sorted({a.cell.index for a in accesses} | set(shell_by_cell))
        by_cell: dict[int, list[FileAccess]] = {index: [] for index in order}
        for access in accesses:
            by_cell[access.cell.index].append(access)
        for index in order:
            for magic in shell_by_cell.get(index, []):
                command = magic.args if magic.kind == "shell" else magic.body
                if any(DOWNLOAD_COMMANDS.match(line) for line in command.splitlines() or [command]):
                    downloads.append((index, command.strip().splitlines()[0][:60] if command.strip() else magic.name))
            for access in by_cell.get(index, []):
                path = resolve_data_path(folder, access.path)
                key = os.path.normpath(str(path))
                if access.write:
                    written.add(key)
                    continue
                if key in written or key in reads:
                    continue
                reads[key] = access
                if path.exists():
                    continue
                cell, line = access.cell, access.line
                if downloads:
                    yield self.finding(
                        ctx,
                        "missing-file",
                        f"reads {access.path!r}, which does not exist yet; it may be created by `{downloads[-1][1]}` (cell {downloads[-1][0]})",
                        cell=cell,
                        line=line,
                        severity=Severity.WARNING,
                        fix="make the download explicit and record its sha256 (`nb2prod lint --fix manifest` once it exists)",
                    )
                else:
                    yield self.finding(
                        ctx,
                        "missing-file",
                        f"reads {access.path!r}, which does not exist "
                        + ("on this machine" if _is_absolute(access.path) else f"(relative to {folder.name or '.'}/) and no cell creates it"),
                        cell=cell,
                        line=line,
                        fix="add the file to the project (or the cell that creates it), or fix the path",
                    )
        try:
            recorded = recorded_manifest(nb.path, nb.metadata)
        except InvalidInputError as exc:
            yield self.finding(ctx, "bad-manifest", exc.message, fix=exc.fix)
            return
        existing = [(key, value) for key, value in reads.items() if os.path.isfile(key)]
        if recorded is None:
            if existing:
                names = ", ".join(repr(v.path) for _, v in existing[:5])
                yield self.finding(
                    ctx,
                    "unrecorded",
                    f"reads {len(existing)} data file(s) ({names}) with no recorded fingerprint",
                    fix=f"`nb2prod lint --fix manifest` records size and sha256 in {manifest_path(nb.path).name}",
                )
            return
        recorded_keys = set()
        for entry in recorded:
            path = resolve_data_path(folder, entry.path)
            key = os.path.normpath(str(path))
            recorded_keys.add(key)
            where = reads.get(key)
            where_cell = where.cell if where else None
            where_line = where.line if where else None
            if not path.is_file():
                continue  # reported as missing above when the notebook still reads it
            size, sha = fingerprint(path)
            if size != entry.size or sha != entry.sha256:
                yield self.finding(
                    ctx,
                    "changed",
                    f"{entry.path!r} changed since the manifest was recorded ({entry.size} → {size} bytes)"
                    if size != entry.size
                    else f"{entry.path!r} changed since the manifest was recorded (same size, different sha256)",
                    cell=where_cell,
                    line=where_line,
                    fix="if the change is intended, re-record with `nb2prod lint --fix manifest`; otherwise restore the file",
                    evidence=f"recorded sha256 {entry.sha256[:12]}…, now {sha[:12]}…",
                )
        new = [value for key, value in existing if key not in recorded_keys]
        if new:
            names = ", ".join(repr(v.path) for v in new[:5])
            yield self.finding(
                ctx,
                "unrecorded",
                f"{len(new)} data file(s) read but not in the manifest: {names}",
                fix="`nb2prod lint --fix manifest` re-records the manifest",
            )
