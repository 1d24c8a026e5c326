"""JSON lint reports: ``LintReport.to_dict()`` per notebook plus a summary (what the panel shows)."""

from __future__ import annotations

import json as _json
from collections.abc import Sequence
from typing import Any

from nb2prod.models import LintReport, Severity

__all__ = ["render_json", "reports_payload"]


def reports_payload(reports: Sequence[LintReport]) -> dict[str, Any]:
    counts = {s.value: sum(1 for r in reports for f in r.findings if f.severity is s) for s in Severity}
    worst = max((r.worst for r in reports if r.worst is not None), key=lambda s: s.rank, default=None)
    return {
        "version": 1,
        "summary": {"notebooks": len(reports), **counts, "worst": worst.value if worst else None},
        "reports": [r.to_dict() for r in reports],
    }


def render_json(reports: Sequence[LintReport]) -> str:
    return _json.dumps(reports_payload(reports), indent=2)
