"""Step 1, validate: the request alone, before the model is touched (cheapest refusals first)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod.errors import ConflictError, UsageError
from nb2prod.package.deploy.request import DeployRequest
from nb2prod.settings import Settings

__all__ = ["FALLBACKS", "Plan", "parse_fallback", "validate"]

FALLBACKS = ("baseline", "constant", "previous", "none")


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


@dataclass(frozen=True, slots=True)
class Plan:
    """The request, checked and parsed."""

    name: str
    fallback: dict[str, Any]
    thresholds: dict[str, float]
    wheels: tuple[Path, ...]


def validate(settings: Settings, request: DeployRequest, *, has_holdout: bool) -> Plan:
    """Refuse a request that cannot succeed, in one line each; parse what later steps need."""
    from nb2prod.package.environment import checked_wheels
    from nb2prod.package.gate import parse_thresholds
    from nb2prod.package.names import validate_name

    name = validate_name(request.name)
    if request.threshold is not None and not 0.0 < request.threshold < 1.0:
        raise UsageError(f"threshold must be between 0 and 1, got {request.threshold}", fix="e.g. --threshold 0.5")
    if request.sample_size < 1:
        raise UsageError("sample size must be at least 1", fix="e.g. --sample-size 200")
    if request.shadow is not None:  # the registration checks it again; refuse before anything is built
        from nb2prod.rollout.transitions import percent  # lazy: the CLI's --help imports this module, not the store

        percent(request.shadow, "shadow", allow_full=True)
    fallback = parse_fallback(request.fallback)
    thresholds = parse_thresholds(request.min_metric)
    if thresholds and not has_holdout:
        raise UsageError("--min-metric needs holdout data to measure", fix="pass --holdout X_test y_test")
    wheels = tuple(checked_wheels(request.wheels))
    if request.port is not None:
        from nb2prod.package.serving import port_free

        if not request.serve:
            raise UsageError("--port only applies with --serve", fix="add --serve, or drop --port")
        if not port_free(settings.host, request.port):
            raise ConflictError(f"port {request.port} on {settings.host} is in use",
                                fix="pick another with --port N, or stop what uses it (`nb2prod stop`)")
    return Plan(name=name, fallback=fallback, thresholds=thresholds, wheels=wheels)
