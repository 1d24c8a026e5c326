"""Run a notebook with parameters into a versioned output folder and journal the run."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

from nb2prod.adapters.notebooks import read_notebook
from nb2prod.errors import Nb2prodError, UsageError
from nb2prod.models import RunRecord
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["parse_parameter", "run_notebook"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_parameter(key: str, raw: str) -> tuple[str, Any]:
    """Turn a ``-p key value`` pair into a Python value: JSON literals, numbers, booleans, else text."""
    if not _NAME.match(key):
        raise UsageError(f"parameter name {key!r} is not a Python identifier", fix="use names like n_samples or seed")
    lowered = raw.strip().lower()
    if lowered in {"true", "false"}:
        return key, lowered == "true"
    if lowered in {"none", "null"}:
        return key, None
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


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
) -> RunRecord:
    """Execute ``notebook`` with ``parameters`` into ``<home>/runs/<stem>/<run_id>/``.

    The run's working folder is that same folder, so relative outputs of each run stay apart.
    The run is journalled as ``running`` first and then ``succeeded``/``failed``; a failure is
    re-raised after it is recorded.
    """
    from nb2prod.adapters.papermill_run import execute_notebook

    source = Path(notebook).expanduser().resolve()
    read_notebook(source)  # a clear error for a missing or corrupt notebook before any kernel starts
    params = dict(parameters or {})
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    workdir = settings.runs_dir / source.stem / run_id
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / source.name
    started = time.time()
    record = RunRecord(
        run_id=run_id,
        notebook=str(source),
        output=str(output),
        parameters=params,
        status="running",
        started_at=started,
        data_fingerprints={"notebook_sha256": _sha256(source)},
    )
    store.runs.add(record)
    try:
        execute_notebook(source, output, params, cwd=workdir, progress=progress, timeout_s=timeout_s)
    except Nb2prodError as exc:
        store.runs.update(run_id, status="failed", duration_s=time.time() - started, error=str(exc))
        raise
    except BaseException as exc:
        store.runs.update(run_id, status="failed", duration_s=time.time() - started, error=repr(exc))
        raise
    outputs = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*") if p.is_file() and p != output)
    result = {"workdir": str(workdir), "files": outputs}
    store.runs.update(run_id, status="succeeded", duration_s=time.time() - started, result=result)
    return store.runs.get(run_id)
