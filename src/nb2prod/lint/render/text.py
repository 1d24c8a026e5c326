"""Plain-text lint reports, one finding per line (``path:cell N[id]:line: severity rule: message``)."""

from __future__ import annotations

from collections.abc import Sequence

from nb2prod.models import Finding, LintReport, Severity

__all__ = ["location", "render_text", "summary"]


def location(f: Finding) -> str:
    where = f.path
    if f.cell_index is not None:
        where += f":cell {f.cell_index}"
        if f.cell_id:
            where += f" [{f.cell_id}]"
        if f.line:
            where += f":{f.line}"
    return where


def summary(reports: Sequence[LintReport]) -> str:
    counts = {s: sum(1 for r in reports for f in r.findings if f.severity is s) for s in Severity}
    notebooks = len(reports)
    return (
        f"{notebooks} notebook{'s' if notebooks != 1 else ''}: {counts[Severity.ERROR]} error(s), "
        f"{counts[Severity.WARNING]} warning(s), {counts[Severity.INFO]} info"
    )


def render_text(reports: Sequence[LintReport], *, min_severity: Severity = Severity.INFO, show_fix: bool = True) -> str:
    lines: list[str] = []
    for report in reports:
        shown = [f for f in report.findings if f.severity.rank >= min_severity.rank]
        if not shown:
            lines.append(f"{report.path}: ok" + (" (re-executed)" if report.executed else ""))
            continue
        for f in shown:
            lines.append(f"{location(f)}: {f.severity.value} {f.rule}: {f.message}")
            if show_fix and f.fix:
                lines.append(f"    fix: {f.fix}")
            if f.evidence:
                lines.append(f"    evidence: {f.evidence}")
    lines.append(summary(reports))
    return "\n".join(lines)
