"""HTML lint reports for notebook display (``%nb2prod lint``)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from nb2prod.lint.render.text import summary
from nb2prod.models import LintReport, Severity

__all__ = ["render_html"]

_COLOUR = {Severity.ERROR: "#c62828", Severity.WARNING: "#ef6c00", Severity.INFO: "#1565c0"}


def render_html(reports: Sequence[LintReport]) -> str:
    parts = [f"<div class='nb2prod-lint'><p><b>nb2prod lint</b> — {escape(summary(reports))}</p>"]
    for report in reports:
        parts.append(f"<p><code>{escape(report.path)}</code>{' (re-executed)' if report.executed else ''}</p>")
        if not report.findings:
            parts.append("<p>No findings.</p>")
            continue
        parts.append("<table><tr><th>severity</th><th>cell</th><th>line</th><th>rule</th><th>finding</th><th>fix</th></tr>")
        for f in report.findings:
            colour = _COLOUR[f.severity]
            cell = "" if f.cell_index is None else str(f.cell_index)
            evidence = f"<br><small>{escape(f.evidence)}</small>" if f.evidence else ""
            parts.append(
                f"<tr><td style='color:{colour}'>{f.severity.value}</td><td>{cell}</td><td>{f.line or ''}</td>"
                f"<td><code>{escape(f.rule)}</code></td><td style='text-align:left'>{escape(f.message)}{evidence}</td>"
                f"<td style='text-align:left'>{escape(f.fix or '')}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</div>")
    return "".join(parts)
