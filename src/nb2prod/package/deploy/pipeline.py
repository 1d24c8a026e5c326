"""``deploy_model``: the deploy as a short pipeline of named steps.

validate → check → gates → (folder) capture → spec → proof (starts) → environment → record →
render → build (with the proof) → register → serve. Cheapest refusal first; once the folder
exists any failure runs :class:`Undo`, so nothing half-written stays behind.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nb2prod.models import DeployResult, VersionRecord
from nb2prod.package.deploy.build import render, start_build
from nb2prod.package.deploy.capture import capture
from nb2prod.package.deploy.check import Checked, check_inputs
from nb2prod.package.deploy.folder import write_environment, write_spec_files
from nb2prod.package.deploy.gates import Gated, run_gates
from nb2prod.package.deploy.inputs import DeployInputs
from nb2prod.package.deploy.record import make_record, write_record
from nb2prod.package.deploy.register import register
from nb2prod.package.deploy.request import DeployRequest
from nb2prod.package.deploy.undo import Undo
from nb2prod.package.deploy.validate import validate
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["deploy_model"]


def deploy_model(
    settings: Settings,
    store: Store,
    request: DeployRequest,
    inputs: DeployInputs,
    *,
    lint: Callable[[Path], Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DeployResult:
    """Deploy ``inputs.model`` as described by ``request``; see the module docstring for the steps."""
    from nb2prod.package.names import new_version_id

    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    model = inputs.model
    plan = validate(settings, request, has_holdout=inputs.holdout is not None)
    say("checking the model and its data")
    checked = check_inputs(model, inputs, request, plan)
    gated = run_gates(store, model, inputs, request, plan, checked, say)

    moment = datetime.now(UTC)
    version_id = new_version_id(plan.name, moment)
    folder = settings.deployments_dir / plan.name / version_id
    undo = Undo(settings, store, folder)
    try:
        folder.mkdir(parents=True, exist_ok=False)
        result = _in_folder(settings, store, request, inputs, plan.wheels, checked, gated, undo, name=plan.name, folder=folder,
                            version_id=version_id, created_at=moment.isoformat(timespec="seconds"), lint=lint, say=say)
    except BaseException as exc:
        undo.fail(exc)
        raise
    undo.done()
    return dataclasses.replace(result, duration_s=round(time.perf_counter() - started, 2))


def _in_folder(settings: Settings, store: Store, request: DeployRequest, inputs: DeployInputs, wheels: tuple[Path, ...],
               checked: Checked, gated: Gated, undo: Undo, *, name: str, folder: Path, version_id: str, created_at: str,
               lint: Callable[[Path], Any] | None, say: Callable[[str], None]) -> DeployResult:
    from nb2prod.package.names import version_suffix
    from nb2prod.package.proof import start_proof

    model = inputs.model
    warnings = [*checked.warnings, *gated.warnings]
    say("capturing the model and its notebook code")
    captured = capture(folder, model, inputs, checked.info.task, checked.fallback, gated.live_id)
    warnings += captured.saved.captured.warnings
    spec = write_spec_files(folder, settings.resolved_store_url, name, version_id, model, inputs, request, checked, gated,
                            captured.fallback)
    warnings += spec.warnings
    # the proof needs only model/, sample.json and deployment.json: it runs beside the rest of the work
    say("proving the saved model in a fresh process")
    proof_job = start_proof(folder)
    undo.jobs.append(proof_job)
    environment = write_environment(folder, checked, captured.saved.modules, wheels)
    warnings += environment.warnings

    suffix = version_suffix(version_id, name)
    record = make_record(name=name, version_id=version_id, created_at=created_at, suffix=suffix, folder=folder, inputs=inputs,
                         request=request, checked=checked, gated=gated, captured=captured, environment=environment, lint=lint,
                         warnings=warnings)
    write_record(folder, record)
    labels = render(folder, record, environment, task=checked.info.task, image=request.image, wheels=wheels, suffix=suffix)

    # Checks that need the whole folder written (and nothing built yet) go here, before the build.
    say("building the Bento")
    undo.model_tag, undo.bento_tag = record.model_tag, record.bento_tag
    build_job = start_build(settings, folder, record, environment, labels, suffix)
    undo.jobs.append(build_job)
    service = None
    if request.serve:  # serve the folder while the Bento builds and the proof runs; nothing is declared good before both end well
        from nb2prod.package.render import service_class_name
        from nb2prod.package.serving import free_port, start_service

        say("starting the service")
        service = start_service(settings, record, host=settings.host, port=request.port or free_port(settings.host),
                                service_class=service_class_name(name))
        undo.served = version_id
    built = build_job.wait()
    record = VersionRecord.from_dict({**record.to_dict(), "bento_tag": built["bento_tag"], "model_tag": built["model_tag"]})
    say("waiting for the fresh-process proof")
    proof = proof_job.wait({"predictions": spec.sample["predictions"], "scores": spec.sample["scores"]})
    record = VersionRecord.from_dict({**record.to_dict(), "extra": {**record.extra, "predict_path": proof.get("predict_path")}})
    shutil.rmtree(folder / ".bentomodel", ignore_errors=True)
    undo.jobs.clear()
    write_record(folder, record)

    if request.mlflow:
        from nb2prod.package.deploy.mlflow_link import publish

        say("logging the version to MLflow")
        logged = publish(settings, request, record, model, checked.frame.head(5), environment.packages)
        undo.mlflow_run = (logged["tracking_uri"], logged["run_id"])
        record = VersionRecord.from_dict({**record.to_dict(), "extra": {**record.extra, "mlflow": logged}})
        write_record(folder, record)

    say("registering the version")
    evidence = {"metrics": gated.metrics, "gate": gated.checks, "proof": proof, "model_hash": record.model_hash}
    register(store, record, live_id=gated.live_id, shadow=request.shadow, actor=request.actor, evidence=evidence, undo=undo)
    url = auth = None
    if service is not None:
        from nb2prod.package.serving import wait_ready

        say("waiting for /readyz")
        served = wait_ready(settings, record, *service)
        url, auth = served.url, served.auth
    return DeployResult(
        name=name,
        version_id=version_id,
        deployment_dir=str(folder),
        bento_tag=record.bento_tag,
        model_tag=record.model_tag,
        metrics=gated.metrics,
        gate=gated.checks,
        proof=proof,
        warnings=warnings,
        lint=record.lint,
        parent=gated.live_id,
        schema_changes=gated.changes,
        captured=captured.saved.captured.definitions,
        url=url,
        auth=auth,
        shadow_percent=float(request.shadow) if request.shadow is not None and gated.live_id else None,
    )
