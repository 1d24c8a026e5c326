"""The re-execution check: restart-and-run-all in fresh kernels, compared and tied to static findings.

Two fresh runs of the notebook as saved. Run 1 against the saved outputs shows failures and
changed results; run 1 against run 2 shows cells whose results change from run to run. Those
are classed as *seedable randomness* when a randomness finding sits in that cell or above it
(seeding fixes them), else as *real nondeterminism* (time, threads, hash order, live data).
Every failure names the static finding that predicted it, and predicted findings are marked
as confirmed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from nb2prod.lint.compare import same_outputs
from nb2prod.lint.notebook import ParsedNotebook
from nb2prod.models import Finding, Severity

__all__ = ["RERUN_CHECKS", "recheck"]

RERUN_CHECKS = {
    "error": (Severity.ERROR, "A cell raises an exception in a restart-and-run-all."),
    "timeout": (Severity.ERROR, "The restart-and-run-all did not finish within the time limit."),
    "kernel-died": (Severity.ERROR, "The kernel died during the restart-and-run-all."),
    "changed-output": (Severity.WARNING, "A fresh run gives a different result than the saved output."),
    "nondeterministic": (Severity.WARNING, "Two fresh runs give different results."),
    "reproduced": (Severity.INFO, "The notebook ran top to bottom in a fresh kernel and reproduced its outputs."),
}

_NAME_ERROR = re.compile(r"name '([^']+)' is not defined")
_MODULE_ERROR = re.compile(r"No module named '([^']+)'")
_FILE_ERROR = re.compile(r"No such file or directory: '([^']+)'")
_FAMILIES_FOR = {
    "NameError": ("hidden-state/",),
    "ModuleNotFoundError": ("environment/",),
    "ImportError": ("environment/",),
    "FileNotFoundError": ("data/", "portability/"),
    "SyntaxError": ("syntax/",),
}


def _finding(
    path: str,
    nb: ParsedNotebook,
    check: str,
    message: str,
    index: int | None,
    *,
    evidence: str | None = None,
    fix: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    cell = nb.cells[index] if index is not None and index < len(nb.cells) else None
    return Finding(
        rule=f"rerun/{check}",
        severity=severity or RERUN_CHECKS[check][0],
        message=message,
        path=path,
        cell_index=cell.index if cell else None,
        cell_id=cell.id if cell else None,
        fix=fix,
        evidence=evidence,
    )


def _predictors(static: Sequence[Finding], index: int, ename: str, evalue: str) -> list[Finding]:
    families = _FAMILIES_FOR.get(ename, ())
    key = None
    for pattern in (_NAME_ERROR, _MODULE_ERROR, _FILE_ERROR):
        match = pattern.search(evalue)
        if match:
            key = match.group(1)
    candidates = [f for f in static if f.rule.startswith(families)] if families else []
    if key is not None:
        top = key.split(".")[0] if ename in {"ModuleNotFoundError", "ImportError"} else key
        keyed = [f for f in candidates if top in f.message or key in f.message]
        same_cell = [f for f in keyed if f.cell_index == index]
        if same_cell or keyed:
            return same_cell or keyed
    same = [f for f in candidates if f.cell_index == index]
    if same:
        return same
    return [f for f in static if f.cell_index == index and f.severity.rank >= Severity.WARNING.rank and not f.rule.startswith("rerun/")]


def _random_sources(nb: ParsedNotebook, static: Sequence[Finding]) -> dict[int, set[int]]:
    """For each cell, the cells with a randomness finding whose results flow into it (through names)."""
    flagged = {f.cell_index for f in static if f.rule.startswith("randomness/") and f.cell_index is not None}
    definer: dict[str, int] = {}
    sources: dict[int, set[int]] = {}
    for cell in nb.code_cells:
        mine = {cell.index} if cell.index in flagged else set()
        for use in (*cell.names.needs, *cell.names.deferred):
            if use.name in definer:
                mine |= sources.get(definer[use.name], set())
        sources[cell.index] = mine
        for name in cell.names.defs:
            definer[name] = cell.index
    return sources


def _where(f: Finding) -> str:
    where = f"cell {f.cell_index}" if f.cell_index is not None else "notebook"
    return f"{f.rule} ({where}{f', line {f.line}' if f.line else ''})"


def recheck(nb: ParsedNotebook, static: list[Finding], *, path: str, timeout_s: float = 600.0, runs: int = 2) -> list[Finding]:
    """Static findings (predicted ones marked confirmed) plus the re-execution findings."""
    from nb2prod.adapters.kernel import run_all
    from nb2prod.adapters.notebooks import as_node

    assert nb.raw is not None and nb.path is not None
    cwd = nb.folder.resolve()
    node = as_node(nb.raw)
    first = run_all(node, cwd=cwd, timeout_s=timeout_s)
    second = run_all(node, cwd=cwd, timeout_s=timeout_s) if runs > 1 and first.timed_out_at is None and first.died_at is None else None
    found: list[Finding] = []
    confirmed: dict[int, str] = {}
    tainted = _random_sources(nb, static)
    if first.timed_out_at is not None:
        found.append(
            _finding(
                path,
                nb,
                "timeout",
                f"restart-and-run-all exceeded {timeout_s:g} s (stopped in this cell)",
                first.timed_out_at,
                fix="make the notebook faster (smaller parameters) or raise --timeout",
            )
        )
    if first.died_at is not None:
        found.append(
            _finding(
                path, nb, "kernel-died", "the kernel died while running this cell", first.died_at, fix="check memory use and native extensions in this cell"
            )
        )
    first_error: int | None = None
    errored_defs: set[str] = set()
    for index, run in sorted(first.cells.items()):
        cell = nb.cells[index]
        if run.error is not None:
            ename, evalue = run.error
            name_match = _NAME_ERROR.search(evalue)
            consequence = first_error is not None and name_match is not None and name_match.group(1) in errored_defs
            predictors = [] if consequence else _predictors(static, index, ename, evalue)
            for predictor in predictors:
                confirmed[id(predictor)] = f"confirmed by --run: cell {index} raised {ename}"
            if consequence:
                evidence = f"consequence of the failure in cell {first_error}"
            elif predictors:
                evidence = "predicted by " + ", ".join(_where(p) for p in predictors[:3])
            else:
                evidence = "not predicted by a static rule"
            found.append(
                _finding(
                    path,
                    nb,
                    "error",
                    f"restart-and-run-all: raises {ename}: {evalue[:160]}",
                    index,
                    evidence=evidence,
                    fix=predictors[0].fix if predictors else "run the notebook top to bottom in a fresh kernel and fix this cell",
                )
            )
            if first_error is None:
                first_error = index
            errored_defs.update(cell.names.defs)
            continue
        if second is not None and index in second.cells:
            same, diff = same_outputs(run.outputs, second.cells[index].outputs)
            if not same:
                random_findings = [f for f in static if f.rule.startswith("randomness/") and f.cell_index in tainted.get(index, set())]
                if random_findings:
                    for f in random_findings:
                        confirmed.setdefault(id(f), f"confirmed by --run: cell {index} changed between two fresh runs")
                    found.append(
                        _finding(
                            path,
                            nb,
                            "nondeterministic",
                            "result changes between two fresh runs: seedable randomness",
                            index,
                            evidence=f"{diff}; explained by " + ", ".join(_where(f) for f in random_findings[:3]),
                            fix=random_findings[0].fix,
                        )
                    )
                else:
                    found.append(
                        _finding(
                            path,
                            nb,
                            "nondeterministic",
                            "result changes between two fresh runs with no random draw to seed: real nondeterminism",
                            index,
                            evidence=diff,
                            fix="find the source (time, threads, hash order, live data) and fix or exclude it from outputs",
                        )
                    )
                continue
        saved = cell.outputs
        if saved or cell.execution_count is not None:
            same, diff = same_outputs(saved, run.outputs)
            if not same:
                upstream = [
                    f
                    for f in static
                    if f.cell_index is not None
                    and f.cell_index <= index
                    and f.rule.split("/")[0] in {"hidden-state", "execution-order", "data", "environment"}
                    and f.severity.rank >= Severity.WARNING.rank
                ]
                evidence = diff or ""
                if first_error is not None:
                    evidence += f"; after the failure in cell {first_error}"
                if upstream:
                    evidence += "; explained by " + ", ".join(_where(f) for f in upstream[:3])
                    for f in upstream:
                        confirmed.setdefault(id(f), f"confirmed by --run: cell {index}'s output changed")
                found.append(
                    _finding(
                        path,
                        nb,
                        "changed-output",
                        "a fresh run gives a different result than the saved output",
                        index,
                        evidence=evidence,
                        fix="restart the kernel, run all cells and save the notebook with these outputs",
                    )
                )
    code_cells = [c for c in nb.code_cells if not c.is_empty]
    if not found and len(first.cells) >= len(code_cells):
        times = "twice" if second is not None else "once"
        found.append(
            _finding(
                path,
                nb,
                "reproduced",
                f"restart-and-run-all ran all {len(code_cells)} code cells without error ({times}, {first.duration_s:.1f} s); saved outputs reproduced",
                None,
            )
        )
    marked = [dataclasses.replace(f, evidence="; ".join(x for x in (f.evidence, confirmed[id(f)]) if x)) if id(f) in confirmed else f for f in static]
    return marked + found
