"""Deploy: from a fitted model in memory to a proved, versioned, built (and optionally served) Bento.

Every front builds one :class:`DeployRequest` (the options) and hands :func:`deploy_model` the live
objects in :class:`DeployInputs`. The steps, one module each: ``validate`` (the request alone),
``check`` (the model fits its data; task and schema), ``gates`` (schema and validation gates vs the
live version), ``capture`` (model + notebook code + fallback model), ``folder`` (sample,
``deployment.json``, reference, lock), the fresh-process proof, ``record`` (version record),
``build`` (render, ``bentoml build``), ``register`` (live or shadow) and ``undo`` (what a failure
removes). ``pipeline`` strings them together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nb2prod.package.deploy.inputs import DeployInputs
from nb2prod.package.deploy.request import DEPLOY_OPTIONS, DeployOption, DeployRequest
from nb2prod.package.deploy.validate import FALLBACKS, parse_fallback

if TYPE_CHECKING:
    from nb2prod.package.deploy.folder import reference_for
    from nb2prod.package.deploy.pipeline import deploy_model

__all__ = [
    "DEPLOY_OPTIONS",
    "FALLBACKS",
    "DeployInputs",
    "DeployOption",
    "DeployRequest",
    "deploy_model",
    "parse_fallback",
    "reference_for",
]


def __getattr__(name: str) -> Any:
    # the pipeline pulls in the store (SQLAlchemy): the CLI's option table must not
    if name == "deploy_model":
        from nb2prod.package.deploy.pipeline import deploy_model

        return deploy_model
    if name == "reference_for":
        from nb2prod.package.deploy.folder import reference_for

        return reference_for
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
