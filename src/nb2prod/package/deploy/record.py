"""Step 6, record: the version record — what was deployed, from which notebook, data, code and environment."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError, Nb2prodError
from nb2prod.models import VersionRecord
from nb2prod.package.deploy.capture import Captured
from nb2prod.package.deploy.check import Checked
from nb2prod.package.deploy.folder import Environment
from nb2prod.package.deploy.gates import Gated
from nb2prod.package.deploy.inputs import DeployInputs
from nb2prod.package.deploy.request import DeployRequest

__all__ = ["lint_summary", "make_record", "write_record"]


def lint_summary(report: Any) -> dict[str, Any]:
    """Counts per severity and the worst one, for the version record."""
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in getattr(report, "findings", ()):
        severity = getattr(finding.severity, "value", str(finding.severity))
        counts[severity] = counts.get(severity, 0) + 1
    worst = getattr(report, "worst", None)
    return {"status": "checked", "path": getattr(report, "path", ""), "counts": counts, "worst": getattr(worst, "value", worst)}


def _data_fingerprint(inputs: DeployInputs, checked: Checked, gated: Gated, files: list[Path]) -> dict[str, Any]:
    from nb2prod.package.fingerprint import file_sha256, frame_sha256

    frame = checked.frame
    found: dict[str, Any] = {"train_sha256": frame_sha256(frame), "train_rows": len(frame), "train_columns": len(frame.columns),
                             "files": {}}
    if inputs.target is not None:
        import numpy as np
        import pandas as pd

        found["target_sha256"] = frame_sha256(pd.Series(np.asarray(inputs.target).ravel(), name="target"))
    if gated.holdout_all is not None:
        found["holdout_sha256"] = frame_sha256(gated.holdout_all)
        found["holdout_rows"] = len(gated.holdout_all)
    for path in dict.fromkeys(files):
        if not path.is_file():
            raise InvalidInputError(f"data file {path} does not exist", fix="check --data-file")
        found["files"][str(path)] = file_sha256(path)
    return found


def make_record(
    *,
    name: str,
    version_id: str,
    created_at: str,
    suffix: str,
    folder: Path,
    inputs: DeployInputs,
    request: DeployRequest,
    checked: Checked,
    gated: Gated,
    captured: Captured,
    environment: Environment,
    lint: Callable[[Path], Any] | None,
    warnings: list[str],
) -> VersionRecord:
    """The version record; appends a lint warning to ``warnings`` when the notebook has lint errors."""
    from nb2prod.package.fingerprint import code_fingerprint, data_files_in
    from nb2prod.package.notebook_context import read_context, resolve_notebook

    notebook = resolve_notebook(request.notebook)
    context = read_context(notebook)
    lint_info: dict[str, Any] = {"status": "not checked (notebook unknown: pass --notebook)"}
    if notebook is not None and lint is not None:
        try:
            lint_info = lint_summary(lint(notebook))
            if lint_info["counts"].get("error"):
                warnings.append(f"lint: {lint_info['counts']['error']} error(s) in {notebook.name} (see %nb2prod lint)")
        except Nb2prodError as exc:
            lint_info = {"status": f"failed: {exc.message}"}
    base = notebook.parent if notebook is not None else Path.cwd()
    files = [Path(p).expanduser() for p in request.data_files]
    files += data_files_in(context.code_cells or list(inputs.history), base)
    info, saved = checked.info, captured.saved
    favorable = info.positive_class if request.favorable is None else request.favorable
    parameters = dict(request.parameters) if request.parameters is not None else context.parameters(inputs.namespace)
    return VersionRecord(
        version_id=version_id,
        name=name,
        created_at=created_at,
        model_hash=saved.sha256,
        data_fingerprint=_data_fingerprint(inputs, checked, gated, files),
        code_fingerprint=code_fingerprint(
            notebook=notebook, code_cells=context.code_cells, captured_source=saved.captured.source, history=inputs.history
        ),
        environment=environment.lock.to_dict(),
        schema={"features": checked.schema},
        metrics=gated.metrics,
        lint=lint_info,
        parent=gated.live_id,
        bento_tag=f"{name}:{suffix}",
        model_tag=f"{name}:{suffix}",
        deployment_dir=str(folder),
        params=parameters,
        extra={
            "task": info.task,
            "threshold": request.threshold,
            "score": info.score_method,
            "protected": checked.protected,
            "favorable": favorable,
            "target": str(getattr(inputs.target, "name", "") or "") or None,
            "notebook": str(notebook) if notebook else None,
            "source": request.source,  # an MLflow model URI when the model came from MLflow
            "variables": request.variables,
            "classes": info.classes or None,
            "model_class": info.kind,
            "captured": saved.captured.definitions,
            "gate": gated.checks,
            "schema_changes": gated.changes,
            "fallback": captured.fallback,
            "warnings": list(warnings),
            # read by the store's profile fold: live texts' out-of-vocabulary share, against reference.json's words
            **({"vocabularies": environment.vocabularies} if environment.vocabularies else {}),
        },
    )


def write_record(folder: Path, record: VersionRecord) -> None:
    (folder / "version.json").write_text(json.dumps(record.to_dict(), indent=2), encoding="utf-8")
