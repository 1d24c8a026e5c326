"""Step 5, folder + spec: sample rows, ``deployment.json`` (through the one typed spec), reference sketches
and the pinned environment, written into the version's folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.package.deploy.check import Checked
from nb2prod.package.deploy.gates import Gated
from nb2prod.package.deploy.inputs import DeployInputs
from nb2prod.package.deploy.request import DeployRequest

__all__ = ["Environment", "Spec", "reference_for", "write_environment", "write_spec_files"]


@dataclass(frozen=True, slots=True)
class Spec:
    sample: dict[str, Any]  # rows, and what the kernel's model answered for them
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Environment:
    lock: Any  # environment.EnvironmentLock
    packages: list[str]  # requirement lines for bentofile.yaml
    warnings: list[str] = field(default_factory=list)
    # text column → training vocabulary, as reference.json keeps it; the record carries it to every audit writer
    vocabularies: dict[str, list[str]] = field(default_factory=dict)


def reference_for(frame: Any, categorical: list[str], *, datetimes: list[str] | None = None,
                  texts: list[str] | None = None) -> dict[str, Any]:
    """``reference.json`` content, from the monitor's builder; datetime and text columns are sketched by
    their derived parts (hour/weekday/month, lengths, out-of-vocabulary share), never raw."""
    from nb2prod.monitor.reference import build_reference

    return build_reference(frame, categorical=list(categorical), datetimes=datetimes or (), texts=texts or ())


def write_spec_files(folder: Path, settings_store_url: str, name: str, version_id: str, model: Any, inputs: DeployInputs,
                     request: DeployRequest, checked: Checked, gated: Gated, fallback: dict[str, Any]) -> Spec:
    """``sample.json`` and ``deployment.json``: all the fresh-process proof needs besides ``model/``."""
    from nb2prod.package.evaluate import calibration_map, jsonable, predict_frame, residual_interval
    from nb2prod.package.proof import compare_predictions, frame_from_rows, sample_rows
    from nb2prod.runtime.spec import IntervalSpec, write_spec

    info, frame, schema, holdout = checked.info, checked.frame, checked.schema, gated.holdout_frame
    warnings: list[str] = []
    # the task as deployment.json declares it: every later process scores through this same spec
    interval = None
    if info.task == "regression" and holdout is not None and inputs.holdout is not None:
        interval = residual_interval(model, holdout, inputs.holdout[1])
    task = info.task_spec(request.threshold, None if interval is None else IntervalSpec.parse(interval, folder))

    # sample rows: what the kernel predicts is what every later process must predict
    source = holdout if holdout is not None else frame
    chosen = source.sample(n=request.sample_size, random_state=0) if len(source) > request.sample_size else source
    rows = sample_rows(chosen, request.sample_size)
    kernel = predict_frame(model, frame_from_rows(rows, schema), task)
    direct = predict_frame(model, chosen, task)
    if compare_predictions(
        {"predictions": direct.decisions, "scores": direct.scores}, {"predictions": kernel.decisions, "scores": kernel.scores}
    )["mismatched"]:
        warnings.append("the model answers differently on rows rebuilt from JSON than on the original frame (dtype-sensitive model)")
    sample = {"rows": rows, "predictions": [jsonable(d) for d in kernel.decisions], "scores": kernel.scores}
    (folder / "sample.json").write_text(json.dumps(sample), encoding="utf-8")

    config = {
        "name": name,
        "version_id": version_id,
        **task.to_dict(),  # task, classes, positive_class, threshold, score, interval
        "favorable": info.positive_class if request.favorable is None else request.favorable,
        "features": schema,
        "protected": checked.protected,
        "guardrails": {"max_violations": 0},
        "fallback": fallback,
        "timeout_ms": request.timeout_ms,
        "explain": {"method": "auto", "sample_rate": 0.05},  # the runtime picks tree, linear or occlusion for the model
        "health": {"max_error_rate": 0.2, "window": 200},
        "store_url": settings_store_url,
        "model_file": "model/model.pkl",
        "baseline_file": "model/baseline.pkl" if fallback["strategy"] == "baseline" else None,
        "sample_file": "sample.json",
        "reference_file": "reference.json",
        # holdout scores → observed positive rate: monitoring estimates accuracy before labels arrive
        "calibration": None if holdout is None or inputs.holdout is None
        else calibration_map(model, holdout, inputs.holdout[1], info, request.threshold),
    }
    write_spec(folder, config)  # validated by the parser the service, proof, rebuild and monitor read it with
    return Spec(sample=sample, warnings=warnings)


def write_environment(folder: Path, checked: Checked, modules: Any, wheels: tuple[Path, ...]) -> Environment:
    """``reference.json`` (drift sketches of the training frame) and ``requirements.lock`` (the kernel's versions)."""
    from nb2prod.package.environment import pin_environment, wheel_distribution

    warnings: list[str] = []
    from nb2prod.package.schema import drift_columns

    columns, categorical = drift_columns(checked.schema)  # datetimes and free text by their derived parts
    datetimes = [f["name"] for f in checked.schema if f.get("dtype") == "datetime"]
    texts = [f["name"] for f in checked.schema if f.get("text")]
    reference = reference_for(checked.frame[[*columns, *datetimes, *texts]], categorical, datetimes=datetimes, texts=texts)
    (folder / "reference.json").write_text(json.dumps(reference), encoding="utf-8")

    lock = pin_environment(modules)
    from_wheels = {wheel_distribution(w.name) for w in wheels}
    requirements = lock.requirements(exclude=from_wheels)
    local = [f"{name} ({path})" for name, path in lock.local.items() if wheel_distribution(name) not in from_wheels]
    if local:
        warnings.append(
            "installed from a local folder, not a package index, so a container build of this Bento cannot install: "
            + ", ".join(local) + " — deploy with --wheel PATH for each (`pip wheel --no-deps FOLDER -w dist`)"
        )
    (folder / "requirements.lock").write_text(requirements, encoding="utf-8")
    # listed inline in bentofile.yaml: BentoML refuses a requirements file whose absolute path has a
    # hidden component, and the default workspace is ~/.nb2prod
    packages = [line.strip() for line in requirements.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if lock.unresolved:
        warnings.append("model uses modules not installed as packages: " + ", ".join(lock.unresolved))
    return Environment(lock=lock, packages=packages, warnings=warnings, vocabularies=reference.get("vocabularies") or {})
