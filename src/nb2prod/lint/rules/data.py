"""Data: files the notebook reads that are missing, changed since the manifest, or unrecorded."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from nb2prod.errors import InvalidInputError
from nb2prod.lint.data_reads import FileAccess, data_events, shell_creates_files
from nb2prod.lint.ipython_syntax import SHELL_CELL_MAGICS
from nb2prod.lint.manifest import fingerprint, manifest_path, recorded_manifest, resolve_data_path
from nb2prod.lint.notebook import Cell
from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["DataRule"]


def _is_absolute(spelled: str) -> bool:
    return spelled.startswith(("/", "\\", "~")) or (len(spelled) > 2 and spelled[1] == ":" and spelled[2] in "\\/")


_DOWNLOADISH = re.compile(r"(?i)curl|wget|https?://|download|urlretrieve|get_file|gunzip|unzip|\{url\}|\{repo\}")


def _commented_mention(ctx: LintContext, name: str) -> int | None:
    """The cell whose commented-out code mentions ``name`` (a disabled download), if any."""
    base = name.rsplit("/", 1)[-1]
    for cell in ctx.nb.code_cells:
        if base in cell.source and any(line.lstrip().startswith("#") and base in line and _DOWNLOADISH.search(line) for line in cell.source.splitlines()):
            return cell.index
    return None


@register
class DataRule(Rule):
    id = "data"
    title = "Data files"
    checks: ClassVar[dict[str, Check]] = {
        "missing-file": Check(Severity.ERROR, "The notebook reads a file that does not exist and that it does not create (FileNotFoundError)."),
        "changed": Check(Severity.WARNING, "A data file changed since its manifest was recorded: results will differ."),
        "unrecorded": Check(Severity.INFO, "Data files are read but no manifest (size, sha256) is recorded for them."),
        "bad-manifest": Check(Severity.WARNING, "The data manifest next to the notebook cannot be read."),
        "dynamic-path": Check(Severity.INFO, "A path is computed at run time (or the working folder changes): existence cannot be checked."),
    }

    def _missing(
        self,
        ctx: LintContext,
        access: FileAccess,
        folder: Path,
        creators: list[tuple[int, int, str]],
        unknown_cwd: list[tuple[int, int]],
        unresolved_writes: list[tuple[Cell, int, str, frozenset[str] | None]],
    ) -> Finding:
        position = (access.cell.index, access.line)
        extension = access.path.rsplit(".", 1)[-1].lower() if "." in access.path.rsplit("/", 1)[-1] else ""
        before = [c for c in creators if (c[0], c[1]) <= position]
        before += [
            (c.index, line, f"`{what}(…)` to a computed path")
            for c, line, what, kinds in unresolved_writes
            if (c.index, line) <= position and (kinds is None or extension in kinds)
        ]
        before.sort()
        spelled = access.path if not access.cwd else f"{access.cwd}/{access.path}"
        if before:
            cell_index, _, what = before[-1]
            return self.finding(
                ctx,
                "missing-file",
                f"reads {spelled!r}, which does not exist yet; it may be created by {what} (cell {cell_index})",
                cell=access.cell,
                line=access.line,
                severity=Severity.WARNING,
                fix="make the download/extraction write this exact path, and record its sha256 (`nb2prod lint --fix manifest` once it exists)",
            )
        if any((c[0], c[1]) <= position for c in unknown_cwd):
            return self.finding(
                ctx,
                "missing-file",
                f"reads {spelled!r}, which does not exist relative to the notebook; the working folder changed to a computed "
                "folder before, so the linter cannot be sure",
                cell=access.cell,
                line=access.line,
                severity=Severity.INFO,
                fix="build paths from one project-relative root instead of changing folders",
            )
        where = "on this machine" if _is_absolute(access.path) else f"(relative to {folder.name or '.'}/) and no cell creates it"
        commented = _commented_mention(ctx, access.path)
        hint = f"; commented-out code in cell {commented} mentions it (a disabled download?)" if commented is not None else ""
        return self.finding(
            ctx,
            "missing-file",
            f"reads {spelled!r}, which does not exist {where}{hint}",
            cell=access.cell,
            line=access.line,
            fix="add the file to the project (or the cell that creates it), or fix the path",
        )

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        nb = ctx.nb
        if nb.path is None:
            return
        folder = nb.folder
        events = data_events(nb)
        written: set[str] = set()
        reads: dict[str, FileAccess] = {}
        # (cell, line, what) of everything that may create files the linter cannot name, in order
        creators: list[tuple[int, int, str]] = [(c.index, line, f"`{what}(…)`") for c, line, what in events.creators]
        for cell in nb.code_cells:
            for magic in cell.magics:
                if magic.kind == "shell" or (magic.kind == "cell" and magic.name in SHELL_CELL_MAGICS):
                    command = magic.args if magic.kind == "shell" else magic.body
                    if shell_creates_files(command):
                        first = command.strip().splitlines()[0][:60] if command.strip() else magic.name
                        creators.append((cell.index, magic.line, f"`{'!' if magic.kind == 'shell' else '%%' + magic.name + ' '}{first}`"))
                elif magic.kind == "line" and magic.name in {"run", "sx", "system"}:
                    creators.append((cell.index, magic.line, f"`%{magic.name} {magic.args[:50]}`"))
        creators.sort()
        unknown_cwd = sorted((c.index, line) for c, line in events.unknown_cwd)
        for access in events.accesses:
            if access.cwd is None:
                continue
            path = resolve_data_path(folder / access.cwd, access.path)
            key = os.path.normpath(str(path))
            if access.write:
                written.add(key)
                continue
            if key in written or key in reads:
                continue
            reads[key] = access
            if path.exists():
                continue
            yield self._missing(ctx, access, folder, creators, unknown_cwd, events.unresolved_writes)
        for cell, line in events.unknown_cwd[:1]:
            yield self.finding(
                ctx,
                "dynamic-path",
                "the working folder changes to a folder computed at run time: file paths after this line were not checked",
                cell=cell,
                line=line,
                fix="build paths from one project-relative root (`DATA = Path('data')`) instead of changing folders",
            )
        if events.unresolved_reads:
            cell, line, what = events.unresolved_reads[0]
            count = len(events.unresolved_reads)
            yield self.finding(
                ctx,
                "dynamic-path",
                f"{count} read{'s' if count > 1 else ''} (first: `{what}(…)`) use a path computed at run time; the linter cannot be sure the file exists",
                cell=cell,
                line=line,
                fix="build data paths from constants (`DATA = Path('data')`) so they can be checked and fingerprinted",
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
