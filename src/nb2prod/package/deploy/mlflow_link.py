"""MLflow on both sides of a deploy: the model may come from MLflow (``models:/…``, ``runs:/…``) and
the deployed version may be logged back to it (``--mlflow``). The MLflow calls live in the adapter."""

from __future__ import annotations

from typing import Any

from nb2prod.errors import InvalidInputError, UsageError
from nb2prod.models import VersionRecord
from nb2prod.package.deploy.inputs import DeployInputs
from nb2prod.package.deploy.request import DeployRequest
from nb2prod.settings import Settings

__all__ = ["is_model_uri", "logged_inputs", "publish", "tracking_uri"]

_OPTIONS = ("fallback", "tolerance", "threshold", "min_metric", "protected", "shadow", "sample_size", "source")


def is_model_uri(ref: str) -> bool:
    from nb2prod.adapters.mlflow_models import is_model_uri as check

    return check(ref)


def tracking_uri(settings: Settings, request: DeployRequest) -> str:
    from nb2prod.adapters.mlflow_models import default_tracking_uri

    return request.mlflow_uri or default_tracking_uri(settings.home)


def logged_inputs(settings: Settings, request: DeployRequest, *, data: Any = None, target: Any = None,
                  holdout: tuple[Any, Any] | None = None) -> DeployInputs:
    """The model ``request.source`` names, loaded from MLflow; without ``data`` its input example is the data."""
    from nb2prod.adapters.mlflow_models import load_logged_model

    if not request.source or not is_model_uri(request.source):
        raise UsageError(f"{request.source!r} is not an MLflow model URI", fix="use models:/NAME/VERSION or runs:/RUN_ID/model")
    logged = load_logged_model(request.source, tracking_uri(settings, request))
    frame = data if data is not None else logged.example
    if frame is None:
        raise UsageError(f"{request.source} was logged without an input example, so its input schema is unknown",
                         fix="pass the training data (--data X_train), or log the model with input_example=")
    columns = [name for name, _ in logged.columns]
    absent = [c for c in columns if c not in getattr(frame, "columns", columns)]
    if absent:
        raise InvalidInputError(f"the data lacks column(s) {', '.join(absent[:8])} of {request.source}'s signature",
                                fix="pass the frame the model was trained on (--data)")
    return DeployInputs(model=logged.model, data=frame, target=target, holdout=holdout)


def publish(settings: Settings, request: DeployRequest, record: VersionRecord, model: Any, sample: Any,
            packages: list[str]) -> dict[str, str]:
    """Log the version to MLflow; returns where (``tracking_uri``, ``run_id``, ``model_uri``)."""
    from nb2prod.adapters.mlflow_models import log_version

    options = {k: getattr(request, k) for k in _OPTIONS if getattr(request, k) not in (None, (), False)}
    return log_version(tracking_uri(settings, request), experiment=f"nb2prod/{record.name}", record=record.to_dict(), model=model,
                       sample=sample, requirements=packages, options=options)
