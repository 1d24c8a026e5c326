"""Load what a deployment folder holds: the model and baseline (through the deploy pipeline's one
loader, :func:`nb2prod.package.artifact.load_model`) and ``sample.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError

__all__ = ["limit_math_threads", "load_model", "load_sample"]


def load_model(folder: Path, *, which: str = "model") -> Any:
    """The deployment's ``model`` (or ``baseline``); raises NotFoundError / InvalidInputError with a fix."""
    from nb2prod.package.artifact import load_model as artifact_load_model

    return artifact_load_model(folder, which=which)


def load_sample(path: Path) -> dict[str, Any]:
    """``sample.json``: ``{"rows": [...], "predictions": [...], "scores": [...]}`` (empty when absent)."""
    if not path.is_file():
        return {"rows": [], "predictions": [], "scores": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path} is not readable JSON: {exc}", fix="re-run %deploy to regenerate it") from exc
    if not isinstance(data, dict) or not isinstance(data.get("rows", []), list):
        raise InvalidInputError(f"{path} must hold {{'rows': [...]}}", fix="re-run %deploy to regenerate it")
    return {"rows": data.get("rows") or [], "predictions": data.get("predictions") or [], "scores": data.get("scores") or []}


def limit_math_threads() -> None:
    """One BLAS/OpenMP thread: micro-batches are small, and spinning pools cost more than they give."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1)
