"""Run a notebook with parameters into a versioned output folder and journal the run."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

from nb2prod.adapters.notebooks import read_notebook
from nb2prod.errors import GateRefusedError, Nb2prodError
from nb2prod.models import LintReport, RunRecord, Severity
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["run_notebook"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_notebook(
    settings: Settings,
    store: Store,
    notebook: str | Path,
    parameters: dict[str, Any] | None = None,
    *,
    progress: bool = True,
    timeout_s: float | None = None,
    fail_on: Severity | None = Severity.ERROR,
    execute: Path | None = None,
) -> RunRecord:
    """Execute ``notebook`` with ``parameters`` into ``<home>/runs/<stem>/<run_id>/``.

    The notebook is linted first: findings at ``fail_on`` severity or worse stop the run before
    a kernel starts (``fail_on=None`` never stops). The kernel runs in the notebook's own folder,
    so its relative data paths work; when the notebook declares an ``output_dir`` parameter and
    the caller does not set it, it points at ``<run folder>/outputs`` so each run's outputs stay
    apart. ``execute`` is a prepared copy of the notebook to run instead (``nb2prod deploy`` adds
    its deploy cell): the notebook itself is still what is linted and journalled, and its folder is
    where the kernel runs. The run is journalled (parameters, fingerprints of the
    notebook and of the data files it reads, lint summary) as ``running`` first and then
    ``succeeded``/``failed``/``refused``; a failure is re-raised after it is recorded.
    """
    from nb2prod.adapters.papermill_run import declared_parameters, execute_notebook
    from nb2prod.lint import data_manifest, lint_notebook

    source = Path(notebook).expanduser().resolve()
    read_notebook(source)  # a clear error for a missing or corrupt notebook before any kernel starts
    report = lint_notebook(source)
    params = dict(parameters or {})
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    workdir = settings.runs_dir / source.stem / run_id
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / source.name
    if "output_dir" in declared_parameters(source) and "output_dir" not in params:
        params["output_dir"] = str(workdir / "outputs")
    started = time.time()
    record = RunRecord(
        run_id=run_id,
        notebook=str(source),
        output=str(output),
        parameters=params,
        status="running",
        started_at=started,
        data_fingerprints={
            "notebook_sha256": _sha256(source),
            "data_files": {f.path: {"size": f.size, "sha256": f.sha256} for f in data_manifest(source)},
        },
        result={"lint": _lint_summary(report)},
    )
    store.runs.add(record)
    blocking = [f for f in report.findings if fail_on is not None and f.severity.rank >= fail_on.rank]
    if blocking:
        first = blocking[0]
        message = f"{source.name}: lint found {len(blocking)} finding(s) at {fail_on} level or worse, e.g. {first.rule}: {first.message}"
        store.runs.update(run_id, status="refused", duration_s=0.0, error=message)
        raise GateRefusedError(message, fix=f"fix them (`nb2prod lint {source}`) or run with --lint-fail-on never",
                               evidence={"findings": [f.to_dict() for f in blocking]})
    try:
        execute_notebook(execute or source, output, params, cwd=source.parent, progress=progress, timeout_s=timeout_s)
    except Nb2prodError as exc:
        store.runs.update(run_id, status="failed", duration_s=time.time() - started, error=str(exc))
        raise
    except BaseException as exc:
        store.runs.update(run_id, status="failed", duration_s=time.time() - started, error=repr(exc))
        raise
    outputs = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*") if p.is_file() and p != output)
    result = {"workdir": str(workdir), "files": outputs, "lint": _lint_summary(report)}
    store.runs.update(run_id, status="succeeded", duration_s=time.time() - started, result=result)
    return store.runs.get(run_id)


def _lint_summary(report: LintReport) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for finding in report.findings:
        counts[finding.severity.value] += 1
    return counts
