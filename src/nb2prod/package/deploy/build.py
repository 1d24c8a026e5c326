"""Step 7, build: render the service (service.py, bentofile, k8s) and start ``bentoml build`` in the background."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from nb2prod.models import VersionRecord
from nb2prod.package.deploy.folder import Environment
from nb2prod.settings import Settings

__all__ = ["render", "start_build"]

# what the BentoML model carries besides model/: the service reads these next to it
_MODEL_FILES = ("deployment.json", "sample.json", "reference.json", "requirements.lock", "version.json")


def render(folder: Path, record: VersionRecord, environment: Environment, *, task: str, image: str | None,
           wheels: tuple[Path, ...], suffix: str) -> dict[str, str]:
    """Render the deployment's templates; returns the labels the Bento and its model carry."""
    from nb2prod.adapters.bento import bentoml_version
    from nb2prod.package.k8s.versions import K8S_DEFAULTS
    from nb2prod.package.render import render_deployment, service_class_name

    name, version_id = record.name, record.version_id
    k8s = {**K8S_DEFAULTS, "image": image or f"{name}:{suffix}", "store_secret": f"{name}-store"}
    labels = {
        "nb2prod.version_id": version_id,
        "nb2prod.name": name,
        "nb2prod.model_hash": record.model_hash[:16],
        "nb2prod.data_sha256": record.data_fingerprint["train_sha256"][:16],
        "nb2prod.task": task,
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
            "model_tag": record.model_tag,
            "deployment_dir": str(folder),
            "service_class": service_class_name(name),
            "features": record.schema["features"],
            "task": task,
            "packages": environment.packages,
            "labels": labels,
            "wheels": [f"wheels/{w.name}" for w in wheels],
            "k8s": k8s,
            "created_at": record.created_at,
            "bentoml_version": bentoml_version(),
        },
    )
    return labels


def start_build(settings: Settings, folder: Path, record: VersionRecord, environment: Environment, labels: dict[str, str],
                suffix: str) -> Any:
    """Stage the model files and start ``bentoml build`` (log: ``build.log`` in the folder); returns the job."""
    from nb2prod.adapters.bento import start_build as start_bento_build
    from nb2prod.package.secret_scan import refuse_secrets

    refuse_secrets(folder)  # no credential in the pickled model, captured source or sample rows
    staging = folder / ".bentomodel"
    staging.mkdir()
    for item in _MODEL_FILES:
        shutil.copy2(folder / item, staging / item)
    shutil.copytree(folder / "model", staging / "model", ignore=shutil.ignore_patterns("__pycache__"))
    metadata = {
        "version_id": record.version_id,
        "created_at": record.created_at,
        "model_hash": record.model_hash,
        "data_fingerprint": json.dumps(record.data_fingerprint, sort_keys=True),
        "code_fingerprint": json.dumps(record.code_fingerprint, sort_keys=True),
        "environment": json.dumps(environment.lock.packages, sort_keys=True),
        "python": environment.lock.python,
        "metrics": json.dumps(record.metrics, sort_keys=True),
        "lint": json.dumps(record.lint, sort_keys=True),
        "parent": record.parent or "",
    }
    return start_bento_build(
        folder,
        bentoml_home=settings.resolved_bentoml_home,
        model_tag=record.model_tag or record.bento_tag or "",
        model_files=staging,
        labels=labels,
        metadata=metadata,
        bento_version=suffix,
        log_file=folder / "build.log",
    )
