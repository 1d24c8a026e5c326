"""MLflow, both ways: read a logged scikit-learn model (``models:/NAME/VERSION``, ``runs:/ID/PATH``) with
its signature and input example, and log an nb2prod version (params, metrics, gate, lint, record,
the model) as an MLflow run. The only module that imports ``mlflow`` (the optional extra
``nb2prod[mlflow]``).

The tracking store defaults to SQLite in the workspace (``<home>/mlflow/mlflow.db``, artifacts next
to it); ``MLFLOW_TRACKING_URI`` or an explicit URI points anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError, NotFoundError, UsageError

__all__ = ["LoggedModel", "default_tracking_uri", "delete_run", "is_model_uri", "load_logged_model", "log_version"]

_SCHEMES = ("models:/", "runs:/")


def is_model_uri(ref: str) -> bool:
    """``models:/NAME/VERSION`` or ``runs:/RUN_ID/PATH``: a model logged to MLflow, not a notebook variable."""
    return ref.startswith(_SCHEMES)


def default_tracking_uri(home: Path) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else a SQLite store in the workspace."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(home / 'mlflow' / 'mlflow.db').resolve()}"


def _mlflow(tracking_uri: str) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # nb2prod sends nothing anywhere by itself
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # its bars would garble nb2prod's progress lines
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    try:
        import mlflow
    except ImportError:
        raise UsageError("MLflow is not installed", fix="pip install 'nb2prod[mlflow]'") from None
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """A logged model, loaded: the estimator, its input columns (signature) and input example."""

    uri: str
    model: Any
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, MLflow type) from the signature
    example: Any = None  # pandas.DataFrame, or None when none was logged
    run_id: str | None = None


def _frame(example: Any, columns: list[tuple[str, str]]) -> Any:
    import numpy as np
    import pandas as pd

    if example is None:
        return None
    if not isinstance(example, pd.DataFrame):
        array = np.asarray(example)
        names = [c for c, _ in columns] or [f"f{i}" for i in range(array.shape[1])]
        example = pd.DataFrame(array, columns=names)
    dtypes = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32", "boolean": "bool", "string": "object"}
    for name, kind in columns:
        if name in example.columns and kind in dtypes:
            example[name] = example[name].astype(dtypes[kind])
    return example


def load_logged_model(uri: str, tracking_uri: str) -> LoggedModel:
    """Load a scikit-learn-flavoured model logged to MLflow; refuse other flavours in one line."""
    mlflow = _mlflow(tracking_uri)
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri)
    except MlflowException as exc:
        raise NotFoundError(f"MLflow has no model at {uri} (tracking store {tracking_uri}): {exc.message[:200]}",
                            fix="check the URI (models:/NAME/VERSION or runs:/RUN_ID/model) and --mlflow-uri") from None
    meta = Model.load(local)
    if "sklearn" not in meta.flavors:
        flavors = ", ".join(sorted(f for f in meta.flavors if f != "python_function"))
        raise InvalidInputError(f"{uri} is a {flavors or 'pyfunc-only'} model; nb2prod deploys scikit-learn-API models",
                                fix="log the model with mlflow.sklearn.log_model")
    model = mlflow.sklearn.load_model(local)
    columns: list[tuple[str, str]] = []
    if meta.signature is not None and meta.signature.inputs is not None:
        for spec in meta.signature.inputs.to_dict():
            if "name" in spec:
                columns.append((str(spec["name"]), str(spec.get("type", ""))))
    try:
        example = meta.load_input_example(local)
    except (MlflowException, OSError, ValueError):
        example = None
    return LoggedModel(uri=uri, model=model, columns=columns, example=_frame(example, columns), run_id=meta.run_id)


def _flat(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = str(value)[:500]  # MLflow limits a param value's length


def _use_experiment(mlflow: Any, tracking_uri: str, name: str) -> None:
    """Select ``name``, creating it first; with a SQLite tracking store its artifacts go next to the database —
    MLflow's own default for database stores is ``./mlruns`` in whatever folder the command ran in."""
    if mlflow.get_experiment_by_name(name) is None:
        location = None
        if tracking_uri.startswith("sqlite:///"):
            location = (Path(tracking_uri[len("sqlite:///"):]).resolve().parent / "artifacts").as_uri()
        try:
            mlflow.create_experiment(name, artifact_location=location)
        except Exception:  # another deploy created it first: use theirs
            if mlflow.get_experiment_by_name(name) is None:
                raise
    mlflow.set_experiment(name)


def log_version(tracking_uri: str, *, experiment: str, record: Mapping[str, Any], model: Any, sample: Any,
                requirements: list[str], options: Mapping[str, Any]) -> dict[str, str]:
    """One MLflow run per nb2prod version: params (notebook parameters and deploy options), holdout
    metrics, gate/lint/version record as JSON artifacts, tags, and the model, registered under the
    deployment's name. Returns ``{"tracking_uri", "run_id", "model_uri"}``."""
    mlflow = _mlflow(tracking_uri)
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    name, version_id = str(record["name"]), str(record["version_id"])
    params: dict[str, str] = {}
    _flat("", {"notebook": record.get("params") or {}, "deploy": dict(options)}, params)
    metrics = {k: float(v) for k, v in (record.get("metrics") or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    gate = (record.get("extra") or {}).get("gate") or []
    lint = record.get("lint") or {}
    try:
        _use_experiment(mlflow, tracking_uri, experiment)
        with mlflow.start_run(run_name=version_id) as run:
            mlflow.set_tags({
                "nb2prod.name": name, "nb2prod.version_id": version_id, "nb2prod.model_hash": str(record.get("model_hash", "")),
                "nb2prod.gate": "passed" if all(c.get("passed", True) for c in gate) else "failed",
                "nb2prod.lint": str(lint.get("worst") or lint.get("status") or "unknown"),
                "nb2prod.parent": str(record.get("parent") or ""),
            })
            if params:
                mlflow.log_params(params)
            if metrics:
                mlflow.log_metrics(metrics)
            mlflow.log_dict(dict(record), "nb2prod/version.json")
            mlflow.log_dict({"checks": gate}, "nb2prod/gate.json")
            mlflow.log_dict(dict(lint), "nb2prod/lint.json")
            signature = infer_signature(sample, model.predict(sample)) if sample is not None else None
            info = mlflow.sklearn.log_model(model, name="model", signature=signature, pip_requirements=requirements,
                                            registered_model_name=name, serialization_format="cloudpickle")
    except MlflowException as exc:
        raise InvalidInputError(f"logging {version_id} to MLflow ({tracking_uri}) failed: {exc.message[:300]}",
                                fix="check --mlflow-uri, or deploy without --mlflow") from None
    return {"tracking_uri": tracking_uri, "run_id": run.info.run_id, "model_uri": info.model_uri}


def delete_run(tracking_uri: str, run_id: str) -> None:
    """Undo :func:`log_version` for a deploy that failed after it (the run is marked deleted)."""
    mlflow = _mlflow(tracking_uri)
    mlflow.MlflowClient().delete_run(run_id)
