"""The deep HTML data-drift report, rendered by Evidently from the reference sample and a live window."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from nb2prod.errors import NotFoundError
from nb2prod.monitor.frames import deployment_context, load_audit_frame, require_rows
from nb2prod.monitor.reference import load_reference
from nb2prod.monitor.windows import window_bounds

__all__ = ["html_report", "reference_sample_frame"]


def reference_sample_frame(reference: dict[str, Any]) -> Any:
    """The bounded row sample kept in ``reference.json``, as a DataFrame (categoricals as text)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(reference.get("sample") or [])
    if frame.empty:
        raise NotFoundError("reference.json holds no row sample", fix="redeploy (build_reference keeps a sample by default)")
    for column, sketch in reference["features"].items():
        if column in frame.columns and sketch["kind"] == "categorical":
            frame[column] = frame[column].map(lambda v: None if v is None else str(v))
    return frame


def html_report(store: Any, ref: str, path: str | Path, *, window: str = "1d", until: float | None = None) -> dict[str, Any]:
    """Write Evidently's DataDriftPreset report for ``ref`` over ``window`` to ``path``; return a summary."""
    from nb2prod.adapters.evidently_report import data_drift_report

    ctx = deployment_context(store, ref)
    if ctx.reference_path is None:
        raise NotFoundError(f"{ctx.version_id} has no deployment folder", fix="redeploy with %deploy")
    reference = load_reference(ctx.reference_path)
    since, end = window_bounds(window, time.time() if until is None else until)
    frame = load_audit_frame(store, ctx.name, since=since, until=end, with_feedback=False)
    require_rows(frame, ctx.name, window)
    sample = reference_sample_frame(reference)
    sketches = reference["features"]
    numerical = [c for c, s in sketches.items() if s["kind"] == "numeric" and c in frame.inputs.columns]
    categorical = [c for c, s in sketches.items() if s["kind"] == "categorical" and c in frame.inputs.columns]
    current = frame.inputs.copy()
    for column in categorical:
        current[column] = current[column].map(lambda v: None if v is None else str(v))
    target = Path(path)
    result = data_drift_report(sample, current, numerical=numerical, categorical=categorical, html=target)
    return {
        "path": str(target),
        "name": ctx.name,
        "version_id": ctx.version_id,
        "window": window,
        "n_reference_sample": len(sample),
        "n_current": len(current),
        **result,
    }
