"""``rebuild NAME:VERSION``: re-run the recorded notebook with its recorded parameters (papermill),
retrain, and check that the retrained model predicts the recorded sample rows as the stored one does.

A copy of the notebook gets one extra cell at the end that exports the retrained model (same
capture as ``%deploy``), its predictions on ``sample.json``'s rows, and fingerprints of the data
it trained on. Differences are explained from the version record: the notebook, the data, the
environment or the captured code changed — or, if none did, training is not deterministic.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError, Nb2prodError, NotFoundError
from nb2prod.models import RebuildResult, VersionRecord
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["explain_differences", "export_rebuilt", "rebuild_version"]

_RESULT = "rebuild.json"


def export_rebuilt(
    model: Any,
    *,
    folder: str,
    deployment: str,
    data: Any = None,
    target: Any = None,
    history: Sequence[str] = (),
) -> dict[str, Any]:
    """Run inside the re-executed notebook: save ``model`` and its answers on the recorded sample rows."""
    from nb2prod.package.artifact import save_model
    from nb2prod.package.environment import pin_environment
    from nb2prod.package.evaluate import predict_frame
    from nb2prod.package.fingerprint import frame_sha256, text_sha256
    from nb2prod.package.proof import frame_from_rows

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    from nb2prod.runtime.spec import load_spec

    spec = load_spec(deployment)
    sample = json.loads(spec.path(spec.sample_file).read_text(encoding="utf-8"))
    saved = save_model(model, out, history=history)
    answer = predict_frame(model, frame_from_rows(sample["rows"], spec.raw["features"]), spec.task_spec)
    result: dict[str, Any] = {
        "model_sha256": saved.sha256,
        "predictions": answer.decisions,
        "scores": answer.scores,
        "environment": pin_environment(saved.modules).to_dict(),
        "captured_sha256": text_sha256(saved.captured.source) if saved.captured.source else None,
    }
    if data is not None:
        import pandas as pd

        result["train_sha256"] = frame_sha256(data if isinstance(data, pd.DataFrame) else pd.DataFrame(data))
    if target is not None:
        import numpy as np
        import pandas as pd

        result["target_sha256"] = frame_sha256(pd.Series(np.asarray(target).ravel(), name="target"))
    (out / _RESULT).write_text(json.dumps(result), encoding="utf-8")
    return result


def explain_differences(record: VersionRecord, rebuilt: dict[str, Any], notebook: Path | None) -> tuple[list[str], list[str]]:
    """What differs between the recorded version and the rebuild, and the likely causes of prediction changes."""
    from nb2prod.package.environment import compare_environments
    from nb2prod.package.fingerprint import file_sha256

    differences: list[str] = []
    causes: list[str] = []
    recorded_nb = record.code_fingerprint.get("notebook_sha256")
    if notebook is not None and recorded_nb and notebook.is_file() and file_sha256(notebook) != recorded_nb:
        differences.append("notebook file changed since the deploy")
        causes.append("the notebook was edited after this version was deployed (code or parameters changed)")
    if record.code_fingerprint.get("captured_sha256") != rebuilt.get("captured_sha256"):
        differences.append("captured notebook code (classes/functions) differs")
        causes.append("a notebook-defined class or function the model uses changed")
    recorded_train = record.data_fingerprint.get("train_sha256")
    if recorded_train and rebuilt.get("train_sha256") and recorded_train != rebuilt["train_sha256"]:
        differences.append("training data differs (train_sha256)")
        causes.append("the training data changed (different rows or values)")
    recorded_target = record.data_fingerprint.get("target_sha256")
    if recorded_target and rebuilt.get("target_sha256") and recorded_target != rebuilt["target_sha256"]:
        differences.append("training target differs (target_sha256)")
        if "the training data changed (different rows or values)" not in causes:
            causes.append("the training labels changed")
    for path, digest in record.data_fingerprint.get("files", {}).items():
        p = Path(path)
        if not p.is_file():
            differences.append(f"data file {path} is gone")
            causes.append(f"data file {path} no longer exists")
        elif file_sha256(p) != digest:
            differences.append(f"data file {path} changed")
            causes.append(f"data file {path} changed since the deploy")
    env_changes = compare_environments(
        {"python": record.environment.get("python"), "packages": record.environment.get("packages", {})},
        {"python": rebuilt.get("environment", {}).get("python"), "packages": rebuilt.get("environment", {}).get("packages", {})},
    )
    if env_changes:
        differences.append("environment: " + "; ".join(env_changes[:8]))
        causes.append("package versions changed: " + "; ".join(env_changes[:4]))
    return differences, causes


def rebuild_version(settings: Settings, store: Store, record: VersionRecord, *, timeout_s: float | None = None, progress: bool = False) -> RebuildResult:
    """Re-run ``record``'s notebook with its parameters and compare the retrained model with the stored one."""
    from nb2prod.adapters.notebooks import read_notebook, write_notebook
    from nb2prod.package.proof import compare_predictions
    from nb2prod.runs.notebook_run import run_notebook

    started = time.perf_counter()
    notebook_path = record.extra.get("notebook")
    if not notebook_path:
        raise NotFoundError(
            f"{record.version_id} has no recorded notebook", fix="deploy from a notebook (or pass --notebook) so rebuild knows what to run"
        )
    notebook = Path(notebook_path)
    if not notebook.is_file():
        raise NotFoundError(f"the recorded notebook {notebook} is gone", fix="restore it from version control, then rebuild")
    variables = record.extra.get("variables") or {}
    model_var = variables.get("model")
    if not model_var:
        raise NotFoundError(f"{record.version_id} does not record which notebook variable holds the model", fix="redeploy with %deploy")
    deployment = Path(record.deployment_dir or "")
    if not (deployment / "sample.json").is_file():
        raise NotFoundError(f"deployment folder {deployment} is missing its sample", fix="redeploy the model")

    work = settings.home / "tmp" / f"rebuild-{uuid.uuid4().hex[:8]}"
    export = work / "export"
    copy = work / notebook.name
    work.mkdir(parents=True)
    try:
        nb = read_notebook(notebook)
        args = [f"folder={str(export)!r}", f"deployment={str(deployment)!r}", "history=globals().get('In', [])"]
        if variables.get("data"):
            args.append(f"data={variables['data']}")
        if variables.get("target"):
            args.append(f"target={variables['target']}")
        code = (
            "# injected by `nb2prod rebuild`: export the retrained model and its answers on the recorded sample\n"
            "from nb2prod.runs.rebuild import export_rebuilt as _nb2prod_export\n"
            f"_nb2prod_export({model_var}, {', '.join(args)})\n"
        )
        from nb2prod.adapters.notebooks import NotebookNode

        nb.cells.append(
            NotebookNode(
                {"id": uuid.uuid4().hex[:8], "cell_type": "code", "metadata": {"tags": ["nb2prod-rebuild"]}, "source": code}
                | {"outputs": [], "execution_count": None}
            )
        )
        write_notebook(nb, copy)
        run = run_notebook(settings, store, copy, dict(record.params), progress=progress, timeout_s=timeout_s)
        result_file = export / _RESULT
        if not result_file.is_file():
            raise InvalidInputError("the re-run notebook did not export a model", fix=f"open {run.output} to see what happened")
        rebuilt = json.loads(result_file.read_text(encoding="utf-8"))
    except Nb2prodError:
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sample = json.loads((deployment / "sample.json").read_text(encoding="utf-8"))
    comparison = compare_predictions(sample, rebuilt)
    differences, causes = explain_differences(record, rebuilt, notebook)
    hash_equal = rebuilt.get("model_sha256") == record.model_hash
    if not hash_equal:
        differences.insert(0, "model file differs byte for byte (model_hash)")
    if not comparison["ok"] and not causes:
        causes.append("nothing recorded changed: training is not deterministic (set random_state/seed on every estimator and split)")
    return RebuildResult(
        version_id=record.version_id,
        run_id=run.run_id,
        output_notebook=run.output,
        matches=bool(comparison["ok"]),
        rows=int(comparison["rows"]),
        mismatched=int(comparison["mismatched"]),
        max_abs_diff=comparison["max_abs_diff"],
        model_hash_equal=hash_equal,
        differences=differences,
        likely_causes=causes if not comparison["ok"] else [],
        duration_s=round(time.perf_counter() - started, 2),
    )
