"""``deploy``: from a fitted model in memory to a proved, versioned, built (and optionally served) Bento.

Order of work, cheapest refusal first: name and inputs → model fitted and fits the data →
schema gate vs the live version → holdout metrics and validation gate → write the deployment
folder (model + captured code, sample, reference, lock, deployment.json, rendered service,
bentofile, k8s) → fresh-process proof and ``bentoml build`` side by side → register the version
(live) → serve if asked. Any failure removes the folder, the BentoML model/Bento and the
registry rows it wrote: nothing half-written stays behind.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nb2prod.errors import ConflictError, InvalidInputError, Nb2prodError, UsageError
from nb2prod.models import DeployResult, RegistryEvent, Traffic, VersionRecord, VersionState
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["FALLBACKS", "DeployRequest", "deploy_model", "parse_fallback", "reference_for"]

FALLBACKS = ("baseline", "constant", "previous", "none")


@dataclass(slots=True)
class DeployRequest:
    """Everything ``deploy_model`` needs besides the model itself (all fronts build one of these)."""

    name: str
    data: Any
    target: Any = None
    holdout: tuple[Any, Any] | None = None
    protected: Sequence[str] = ()
    fallback: str = "baseline"
    min_metric: Mapping[str, float] | Sequence[str] | None = None
    tolerance: float = 0.01
    allow_schema_change: bool = False
    threshold: float | None = None  # None: the decision is model.predict; a number: P(positive) >= it (binary, predict_proba)
    serve: bool = False
    port: int | None = None
    notebook: str | Path | None = None
    namespace: Mapping[str, Any] | None = None
    history: Sequence[str] = ()
    params: Mapping[str, Any] | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    data_files: Sequence[str | Path] = ()
    sample_size: int = 200
    timeout_ms: int = 250
    actor: str = "nb2prod"
    image: str | None = None
    wheels: Sequence[str | Path] = ()
    shadow: float | None = None  # percent of live requests the new version shadows; None = it goes live
    favorable: Any = None  # the decision that benefits the applicant (fairness); default: the positive class


def parse_fallback(spec: str | None) -> dict[str, Any]:
    """``baseline`` | ``constant:VALUE`` | ``previous`` | ``none`` → the ``fallback`` block of deployment.json."""
    text = (spec or "baseline").strip()
    strategy, _, raw = text.partition(":")
    strategy = strategy.strip().lower()
    if strategy not in FALLBACKS:
        raise UsageError(f"unknown fallback {text!r}", fix="use baseline, constant:VALUE, previous or none")
    constant: Any = None
    if strategy == "constant":
        if not raw.strip():
            raise UsageError("constant fallback needs a value", fix="e.g. --fallback constant:0")
        try:
            constant = json.loads(raw)
        except json.JSONDecodeError:
            constant = raw.strip()
    elif raw:
        raise UsageError(f"fallback {strategy} takes no value", fix=f"use --fallback {strategy}")
    return {"strategy": strategy, "constant": constant, "previous_version": None}


def reference_for(frame: Any, categorical: Sequence[str]) -> dict[str, Any]:
    """``reference.json`` content, from the monitor's builder (issue 7)."""
    from nb2prod.monitor.reference import build_reference

    return build_reference(frame, categorical=list(categorical))


def _fit_baseline(info_task: str, target: Any) -> Any:
    import numpy as np
    from sklearn.dummy import DummyClassifier, DummyRegressor

    y = np.asarray(target).ravel()
    baseline = DummyRegressor(strategy="median") if info_task == "regression" else DummyClassifier(strategy="prior")
    return baseline.fit(np.zeros((len(y), 1)), y)


def _lint_summary(report: Any) -> dict[str, Any]:
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in getattr(report, "findings", ()):
        severity = getattr(finding.severity, "value", str(finding.severity))
        counts[severity] = counts.get(severity, 0) + 1
    worst = getattr(report, "worst", None)
    return {"status": "checked", "path": getattr(report, "path", ""), "counts": counts, "worst": getattr(worst, "value", worst)}


def _now() -> tuple[datetime, str]:
    moment = datetime.now(UTC)
    return moment, moment.isoformat(timespec="seconds")


class _Undo:
    """What a failing deploy must remove."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store
        self.folder: Path | None = None
        self.bento_tag: str | None = None
        self.model_tag: str | None = None
        self.version_id: str | None = None
        self.previous_traffic: Traffic | None = None
        self.previous_live_state: tuple[str, VersionState] | None = None
        self.jobs: list[Any] = []
        self.served: str | None = None

    def keep_logs(self) -> dict[str, Path]:
        """Move the folder's logs (``build.log``) out of the way of :meth:`run`: a failed deploy's
        error may point at them, and the folder is about to go. Returns ``{old path: kept path}``."""
        kept: dict[str, Path] = {}
        if self.folder is None:
            return kept
        for log in ("build.log",):
            path = self.folder / log
            if path.is_file() and path.stat().st_size:
                target = self.settings.home / "logs" / f"{self.folder.name}.{log}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), target)
                kept[str(path)] = target
        return kept

    def run(self) -> None:
        for job in self.jobs:
            job.cancel()
        if self.served is not None:
            from nb2prod.package.serving import stop_services

            stop_services(self.settings, version_id=self.served)
        if self.version_id is not None:
            self.store.registry.remove_version(self.version_id)
            if self.previous_traffic is not None:
                self.store.registry.set_traffic(
                    self.previous_traffic,
                    RegistryEvent(
                        name=self.previous_traffic.name,
                        action="deploy_undone",
                        version_id=self.version_id,
                        actor="nb2prod",
                        reason="deploy failed after registration; routing restored",
                    ),
                )
            if self.previous_live_state is not None:
                self.store.registry.set_state(*self.previous_live_state)
        if self.bento_tag or self.model_tag:
            from nb2prod.adapters.bento import delete_artifacts

            delete_artifacts(self.settings.resolved_bentoml_home, bento_tag=self.bento_tag, model_tag=self.model_tag)
        if self.folder is not None and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
            parent = self.folder.parent
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()


def deploy_model(
    settings: Settings,
    store: Store,
    model: Any,
    request: DeployRequest,
    *,
    lint: Callable[[Path], Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DeployResult:
    """Deploy ``model`` as described by ``request``; see the module docstring for the steps."""
    from nb2prod.package.names import new_version_id, validate_name, version_suffix
    from nb2prod.package.schema import as_frame, infer_schema

    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    name = validate_name(request.name)
    if request.threshold is not None and not 0.0 < request.threshold < 1.0:
        raise UsageError(f"threshold must be between 0 and 1, got {request.threshold}", fix="e.g. --threshold 0.5")
    if request.sample_size < 1:
        raise UsageError("sample size must be at least 1", fix="e.g. --sample-size 200")
    fallback = parse_fallback(request.fallback)
    from nb2prod.package.gate import metric_gate, parse_thresholds, schema_gate

    thresholds = parse_thresholds(request.min_metric)
    if thresholds and request.holdout is None:
        raise UsageError("--min-metric needs holdout data to measure", fix="pass --holdout X_test y_test")
    from nb2prod.package.environment import checked_wheels

    checked_wheels(request.wheels)
    if request.port is not None:
        from nb2prod.package.serving import port_free

        if not request.serve:
            raise UsageError("--port only applies with --serve", fix="add --serve, or drop --port")
        if not port_free(settings.host, request.port):
            raise ConflictError(f"port {request.port} on {settings.host} is in use", fix="pick another with --port N, or stop what uses it (`nb2prod stop`)")

    # -- the model and its data -------------------------------------------------------------------
    from nb2prod.package.evaluate import (
        check_features,
        describe_model,
        holdout_metrics,
        jsonable,
        predict_frame,
        settle_score_method,
    )

    info = describe_model(model, request.target)
    columns = [str(c) for c in getattr(model, "feature_names_in_", [])] or None
    frame = as_frame(request.data, columns=columns, what="training data")
    warnings: list[str] = []
    target = request.target
    if target is not None:
        import numpy as np

        if len(np.asarray(target).ravel()) != len(frame):
            raise InvalidInputError(
                f"target has {len(np.asarray(target).ravel())} values for {len(frame)} training rows",
                fix="pass the target that matches --data (e.g. --data X_train --target y_train)",
            )
    protected = [str(p) for p in request.protected]
    missing = [p for p in protected if p not in frame.columns]
    if missing:
        raise UsageError(
            f"protected attribute(s) {', '.join(missing)} not in the training data columns",
            fix="name columns of --data (keep the attribute in the frame even if the model drops it)",
        )
    check_features(model, frame)
    settle_score_method(model, frame, info)
    if request.threshold is not None and (info.task != "binary" or info.score_method != "predict_proba"):
        raise UsageError(
            f"--threshold applies to binary classifiers with predict_proba; {type(model).__name__} is {info.task}"
            + ("" if info.task != "binary" else f" scored by {info.score_method or 'nothing'}"),
            fix="drop --threshold: the decision is then the model's own predict()",
        )
    schema = infer_schema(frame)
    if fallback["strategy"] == "baseline" and target is None:
        fallback = {**fallback, "strategy": "none"}
        warnings.append("no --target given: no baseline fallback model (fallback: none)")

    # -- gates against the live version ----------------------------------------------------------
    live_id = store.registry.traffic(name).live
    if request.shadow is not None:
        if not live_id:
            raise ConflictError(f"{name!r} has no live version for a shadow to run beside",
                                fix="deploy without --shadow first; later versions can shadow it")
        if not 0 < request.shadow <= 100:
            raise UsageError(f"shadow percent must be above 0 and at most 100, got {request.shadow:g}", fix="e.g. --shadow 100")
    live_record = store.registry.get(live_id) if live_id else None
    changes = schema_gate(name, live_id, live_record.schema.get("features") if live_record else None, schema, allow=request.allow_schema_change)
    if changes:
        warnings.append(f"input schema changed vs {live_id} (allowed): " + "; ".join(changes))
    metrics: dict[str, Any] = {}
    checks: list[dict[str, Any]] = []
    holdout_frame = None
    if request.holdout is not None:
        x_test, y_test = request.holdout
        holdout_frame = as_frame(x_test, columns=list(frame.columns), what="holdout data")
        absent = [c for c in frame.columns if c not in holdout_frame.columns]
        if absent:
            raise InvalidInputError(f"holdout data lacks training column(s) {', '.join(absent[:8])}", fix="pass --holdout X_test y_test")
        say("measuring holdout metrics")
        metrics = holdout_metrics(model, holdout_frame[list(frame.columns)], y_test, info, request.threshold)
        live_metrics = None
        if live_record is not None:
            live_metrics = dict(live_record.metrics)
            try:
                from nb2prod.package.artifact import load_model

                live_model = load_model(live_record.deployment_dir or "")
                live_info = describe_model(live_model)
                live_cols = [f["name"] for f in live_record.schema.get("features", [])]
                if all(c in holdout_frame.columns for c in live_cols) and live_info.task == info.task:
                    live_threshold = live_record.extra.get("threshold")
                    live_threshold = None if live_info.score_method != "predict_proba" else live_threshold
                    live_metrics = holdout_metrics(live_model, holdout_frame[live_cols], y_test, live_info, live_threshold)
                    live_metrics["evaluated_on"] = "this holdout"  # type: ignore[assignment]
            except (Nb2prodError, OSError, ValueError, TypeError):
                warnings.append(f"live version {live_id} could not be re-evaluated on this holdout; compared with its recorded metrics")
        try:
            checks = metric_gate(
                name, info.task, metrics, thresholds=thresholds, tolerance=request.tolerance, live_version=live_id,
                live_metrics={k: v for k, v in (live_metrics or {}).items() if isinstance(v, (int, float))},
            )
        except Nb2prodError as exc:
            store.registry.record_event(
                RegistryEvent(name=name, action="gate_refused", version_id=None, actor=request.actor, reason=exc.message,
                              evidence=getattr(exc, "evidence", {}))
            )
            raise
    else:
        warnings.append("no holdout data: metrics and the validation gate were skipped (pass --holdout X_test y_test)")

    # -- write the deployment folder --------------------------------------------------------------
    moment, created_at = _now()
    version_id = new_version_id(name, moment)
    folder = settings.deployments_dir / name / version_id
    undo = _Undo(settings, store)
    undo.folder = folder
    try:
        folder.mkdir(parents=True, exist_ok=False)
        return _write_and_finish(
            settings, store, model, request, undo,
            name=name, version_id=version_id, created_at=created_at, folder=folder, info=info, frame=frame,
            holdout_frame=holdout_frame, schema=schema, protected=protected, fallback=fallback, metrics=metrics,
            checks=checks, warnings=warnings, changes=changes, live_id=live_id, lint=lint, say=say, started=started,
            jsonable=jsonable, predict_frame=predict_frame, version_suffix=version_suffix,
        )
    except BaseException as exc:
        for job in undo.jobs:  # the build writes its log until it is stopped
            job.cancel()
        kept = undo.keep_logs()
        undo.run()
        if isinstance(exc, Nb2prodError):
            for old, new in kept.items():  # the error must not send the user to a file that is gone
                exc.message = exc.message.replace(old, str(new))
                exc.fix = exc.fix.replace(old, str(new)) if exc.fix else exc.fix
            if str(folder) in str(exc):
                exc.fix = ((exc.fix or "") + f" (the deployment folder {folder} was removed)").strip()
        raise


def _write_and_finish(
    settings: Settings,
    store: Store,
    model: Any,
    request: DeployRequest,
    undo: _Undo,
    *,
    name: str,
    version_id: str,
    created_at: str,
    folder: Path,
    info: Any,
    frame: Any,
    holdout_frame: Any,
    schema: list[dict[str, Any]],
    protected: list[str],
    fallback: dict[str, Any],
    metrics: dict[str, Any],
    checks: list[dict[str, Any]],
    warnings: list[str],
    changes: list[str],
    live_id: str | None,
    lint: Callable[[Path], Any] | None,
    say: Callable[[str], None],
    started: float,
    jsonable: Callable[[Any], Any],
    predict_frame: Callable[..., Any],
    version_suffix: Callable[[str, str], str],
) -> DeployResult:
    from nb2prod.adapters.bento import bentoml_version, start_build
    from nb2prod.package.artifact import save_baseline, save_model
    from nb2prod.package.environment import checked_wheels, pin_environment, wheel_distribution
    from nb2prod.package.evaluate import calibration_map, residual_interval
    from nb2prod.package.fingerprint import code_fingerprint, data_files_in, file_sha256, frame_sha256
    from nb2prod.package.notebook_context import read_context, resolve_notebook
    from nb2prod.package.proof import compare_predictions, frame_from_rows, sample_rows, start_proof
    from nb2prod.package.render import render_deployment, service_class_name
    from nb2prod.runtime.spec import IntervalSpec, write_spec

    say("capturing the model and its notebook code")
    saved = save_model(model, folder, namespace=request.namespace, history=request.history)
    warnings.extend(saved.captured.warnings)
    if fallback["strategy"] == "baseline":
        save_baseline(_fit_baseline(info.task, request.target), folder)
    elif fallback["strategy"] == "previous":
        if live_id is None:
            raise UsageError("--fallback previous needs a live version to fall back to", fix="use --fallback baseline for a first deploy")
        fallback = {**fallback, "previous_version": live_id}

    # the task as deployment.json declares it: every later process scores through this same spec
    interval = None
    if info.task == "regression" and holdout_frame is not None and request.holdout is not None:
        interval = residual_interval(model, holdout_frame[list(frame.columns)], request.holdout[1])
    task = info.task_spec(request.threshold, None if interval is None else IntervalSpec.parse(interval, folder))

    # sample rows: what the kernel predicts is what every later process must predict
    source = holdout_frame[list(frame.columns)] if holdout_frame is not None else frame
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
        "protected": protected,
        "guardrails": {"max_violations": 0},
        "fallback": fallback,
        "timeout_ms": request.timeout_ms,
        "explain": {"method": "auto", "sample_rate": 0.05},  # the runtime picks tree, linear or occlusion for the model
        "health": {"max_error_rate": 0.2, "window": 200},
        "store_url": settings.resolved_store_url,
        "model_file": "model/model.pkl",
        "baseline_file": "model/baseline.pkl" if fallback["strategy"] == "baseline" else None,
        "sample_file": "sample.json",
        "reference_file": "reference.json",
        # holdout scores → observed positive rate: monitoring estimates accuracy before labels arrive
        "calibration": None if holdout_frame is None or request.holdout is None
        else calibration_map(model, holdout_frame[list(frame.columns)], request.holdout[1], info, request.threshold),
    }
    write_spec(folder, config)  # validated by the parser the service, proof, rebuild and monitor read it with
    # the proof needs only model/, sample.json and deployment.json: start it now, beside the rest of the work
    say("proving the saved model in a fresh process")
    proof_job = start_proof(folder)
    undo.jobs.append(proof_job)

    categorical = [f["name"] for f in schema if f["dtype"] in {"category", "string", "bool"}]
    reference = reference_for(frame, categorical)
    (folder / "reference.json").write_text(json.dumps(reference), encoding="utf-8")

    lock = pin_environment(saved.modules)
    wheels = checked_wheels(request.wheels)
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


    # -- the version record ---------------------------------------------------------------------
    notebook = resolve_notebook(request.notebook)
    context = read_context(notebook)
    lint_info: dict[str, Any] = {"status": "not checked (notebook unknown: pass --notebook)"}
    if notebook is not None and lint is not None:
        try:
            lint_info = _lint_summary(lint(notebook))
            if lint_info["counts"].get("error"):
                warnings.append(f"lint: {lint_info['counts']['error']} error(s) in {notebook.name} (see %nb2prod lint)")
        except Nb2prodError as exc:
            lint_info = {"status": f"failed: {exc.message}"}
    base = notebook.parent if notebook is not None else Path.cwd()
    files = [Path(p).expanduser() for p in request.data_files]
    files += data_files_in(context.code_cells or list(request.history), base)
    data_fp: dict[str, Any] = {
        "train_sha256": frame_sha256(frame),
        "train_rows": len(frame),
        "train_columns": len(frame.columns),
        "files": {},
    }
    if request.target is not None:
        import numpy as np
        import pandas as pd

        data_fp["target_sha256"] = frame_sha256(pd.Series(np.asarray(request.target).ravel(), name="target"))
    if holdout_frame is not None:
        data_fp["holdout_sha256"] = frame_sha256(holdout_frame)
        data_fp["holdout_rows"] = len(holdout_frame)
    for path in dict.fromkeys(files):
        if not path.is_file():
            raise InvalidInputError(f"data file {path} does not exist", fix="check --data-file")
        data_fp["files"][str(path)] = file_sha256(path)
    params = dict(request.params) if request.params is not None else context.parameters(request.namespace)
    suffix = version_suffix(version_id, name)
    model_tag = f"{name}:{suffix}"
    record = VersionRecord(
        version_id=version_id,
        name=name,
        created_at=created_at,
        model_hash=saved.sha256,
        data_fingerprint=data_fp,
        code_fingerprint=code_fingerprint(
            notebook=notebook, code_cells=context.code_cells, captured_source=saved.captured.source, history=request.history
        ),
        environment=lock.to_dict(),
        schema={"features": schema},
        metrics=metrics,
        lint=lint_info,
        parent=live_id,
        bento_tag=f"{name}:{suffix}",
        model_tag=model_tag,
        deployment_dir=str(folder),
        params=params,
        extra={
            "task": info.task,
            "threshold": request.threshold,
            "score": info.score_method,
            "protected": protected,
            "favorable": info.positive_class if request.favorable is None else request.favorable,
            "target": str(getattr(request.target, "name", "") or "") or None,
            "notebook": str(notebook) if notebook else None,
            "variables": dict(request.variables),
            "classes": info.classes or None,
            "model_class": info.kind,
            "captured": saved.captured.definitions,
            "gate": checks,
            "schema_changes": changes,
            "fallback": fallback,
            "warnings": list(warnings),
        },
    )
    (folder / "version.json").write_text(json.dumps(record.to_dict(), indent=2), encoding="utf-8")

    # -- render, then prove and build side by side ----------------------------------------------
    k8s = {
        "image": request.image or f"{name}:{suffix}",
        "port": 3000,
        "min_replicas": 1,
        "max_replicas": 5,
        "target_cpu_percent": 70,
        "cpu_request": "250m",
        "memory_request": "512Mi",
        "cpu_limit": "1",
        "memory_limit": "1Gi",
        "store_secret": f"{name}-store",
    }
    labels = {
        "nb2prod.version_id": version_id,
        "nb2prod.name": name,
        "nb2prod.model_hash": saved.sha256[:16],
        "nb2prod.data_sha256": data_fp["train_sha256"][:16],
        "nb2prod.task": info.task,
    }
    for wheel in wheels:  # the deployment folder stays self-contained: bentofile.yaml names them relatively
        (folder / "wheels").mkdir(exist_ok=True)
        shutil.copy2(wheel, folder / "wheels" / wheel.name)
    render_deployment(
        folder,
        {
            "name": name,
            "version_id": version_id,
            "bento_name": name,
            "bento_version": suffix,
            "bento_tag": f"{name}:{suffix}",
            "model_tag": model_tag,
            "deployment_dir": str(folder),
            "service_class": service_class_name(name),
            "features": schema,
            "task": info.task,
            "packages": packages,
            "labels": labels,
            "wheels": [f"wheels/{w.name}" for w in wheels],
            "k8s": k8s,
            "created_at": created_at,
            "bentoml_version": bentoml_version(),
        },
    )
    staging = folder / ".bentomodel"
    staging.mkdir()
    for item in ("deployment.json", "sample.json", "reference.json", "requirements.lock", "version.json"):
        shutil.copy2(folder / item, staging / item)
    shutil.copytree(folder / "model", staging / "model", ignore=shutil.ignore_patterns("__pycache__"))
    metadata = {
        "version_id": version_id,
        "created_at": created_at,
        "model_hash": saved.sha256,
        "data_fingerprint": json.dumps(data_fp, sort_keys=True),
        "code_fingerprint": json.dumps(record.code_fingerprint, sort_keys=True),
        "environment": json.dumps(lock.packages, sort_keys=True),
        "python": lock.python,
        "metrics": json.dumps(metrics, sort_keys=True),
        "lint": json.dumps(lint_info, sort_keys=True),
        "parent": live_id or "",
    }
    say("building the Bento")
    undo.model_tag, undo.bento_tag = model_tag, f"{name}:{suffix}"
    build_job = start_build(
        folder,
        bentoml_home=settings.resolved_bentoml_home,
        model_tag=model_tag,
        model_files=staging,
        labels=labels,
        metadata=metadata,
        bento_version=suffix,
        log_file=folder / "build.log",
    )
    undo.jobs.append(build_job)
    service = None
    if request.serve:  # serve the folder while the Bento builds and the proof runs; nothing is declared good before both end well
        from nb2prod.package.serving import free_port, start_service

        say("starting the service")
        service = start_service(settings, record, host=settings.host, port=request.port or free_port(settings.host),
                                service_class=service_class_name(name))
        undo.served = version_id
    built = build_job.wait()
    record = VersionRecord.from_dict({**record.to_dict(), "bento_tag": built["bento_tag"], "model_tag": built["model_tag"]})
    proof = proof_job.wait({"predictions": sample["predictions"], "scores": sample["scores"]})
    shutil.rmtree(staging, ignore_errors=True)
    undo.jobs.clear()
    (folder / "version.json").write_text(json.dumps(record.to_dict(), indent=2), encoding="utf-8")

    # -- register: the new version goes live, or shadows the live one ----------------------------
    traffic = store.registry.traffic(name)
    undo.previous_traffic = traffic if live_id else Traffic(name=name)
    evidence = {"metrics": metrics, "gate": checks, "proof": proof, "model_hash": saved.sha256}
    if request.shadow is not None and live_id:
        store.registry.add_version(record, state=VersionState.SHADOW)
        undo.version_id = version_id
        replaced = traffic.shadow
        if replaced:
            undo.previous_live_state = (replaced, store.registry.state(replaced))
            store.registry.set_state(replaced, VersionState.CANDIDATE)
        store.registry.set_traffic(
            Traffic(**{**traffic.to_dict(), "shadow": version_id, "shadow_percent": float(request.shadow)}),
            RegistryEvent(
                name=name, action="shadow", version_id=version_id, actor=request.actor,
                reason=f"deployed {version_id} as a shadow of {live_id} on {request.shadow:g}% of live requests",
                evidence={**evidence, "percent": float(request.shadow), "replaced": replaced},
            ),
            expected=traffic,
        )
    else:
        store.registry.add_version(record, state=VersionState.LIVE)
        undo.version_id = version_id
        if live_id:
            undo.previous_live_state = (live_id, store.registry.state(live_id))
            store.registry.set_state(live_id, VersionState.RETIRED)
        store.registry.set_traffic(
            Traffic(name=name, live=version_id),
            RegistryEvent(
                name=name, action="deploy", version_id=version_id, actor=request.actor,
                reason=f"deployed {version_id}" + (f" replacing {live_id}" if live_id else ""),
                evidence=evidence,
            ),
            expected=traffic,
        )
    url = None
    if service is not None:
        from nb2prod.package.serving import wait_ready

        say("waiting for /readyz")
        url = wait_ready(settings, record, *service).url
    undo.version_id = undo.served = None  # success: nothing to undo any more
    return DeployResult(
        name=name,
        version_id=version_id,
        deployment_dir=str(folder),
        bento_tag=record.bento_tag,
        model_tag=record.model_tag,
        metrics=metrics,
        gate=checks,
        proof=proof,
        warnings=warnings,
        lint=lint_info,
        parent=live_id,
        schema_changes=changes,
        captured=saved.captured.definitions,
        url=url,
        duration_s=round(time.perf_counter() - started, 2),
        shadow_percent=float(request.shadow) if request.shadow is not None and live_id else None,
    )
