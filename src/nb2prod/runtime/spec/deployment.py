"""The whole ``deployment.json``: the validated spec every reader and the one writer go through."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError, NotFoundError
from nb2prod.runtime.spec.features import FeatureSpec
from nb2prod.runtime.spec.fields import bad_field, number_field
from nb2prod.runtime.spec.task import IntervalSpec, Task, TaskSpec

__all__ = ["EXPLAIN_METHODS", "STRATEGIES", "DeploymentSpec", "load_spec", "write_spec"]

#: fallback strategies as the runtime names them; ``previous`` (what %deploy writes) means ``previous_version``
STRATEGIES = ("baseline", "constant", "previous_version", "none")
_STRATEGY_ALIASES = {"previous": "previous_version"}
EXPLAIN_METHODS = ("auto", "tree", "linear", "occlusion", "none")


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    """A deployment folder's runtime configuration (``deployment.json``), validated."""

    folder: Path
    name: str
    version_id: str
    task: Task
    features: tuple[FeatureSpec, ...]
    classes: tuple[Any, ...] | None = None
    positive_class: Any = None
    threshold: float | None = None  # None: the decision is model.predict
    score_method: str | None = None  # predict_proba | decision_function | None (regression, or no score)
    interval: IntervalSpec | None = None  # regression: holdout residual quantiles
    protected: tuple[str, ...] = ()
    max_violations: int = 0
    fallback_strategy: str = "constant"
    fallback_constant: Any = None
    previous_version: str | None = None
    timeout_ms: float = 250.0
    explain_method: str = "auto"
    explain_sample_rate: float = 0.05
    max_error_rate: float = 0.2
    health_window: int = 200
    uncertainty_margin: float = 0.1
    max_batch: int = 64
    max_queue_ms: float = 1000.0  # a request queued longer than this is shed (HTTP 503), not answered late
    max_rows: int = 1000
    max_body_bytes: int = 2 * 1024 * 1024
    workers: int = 1
    store_url: str | None = None
    model_file: str = "model/model.pkl"
    baseline_file: str = "model/baseline.pkl"
    sample_file: str = "sample.json"
    reference_file: str = "reference.json"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def task_spec(self) -> TaskSpec:
        return TaskSpec(task=Task(self.task), classes=self.classes, positive_class=self.positive_class,
                        threshold=self.threshold, score_method=self.score_method, interval=self.interval)

    def resolved_store_url(self, env: Mapping[str, str] | None = None) -> str:
        """``NB2PROD_STORE_URL`` from the environment first, else ``store_url``, else SQLite in the folder."""
        env = os.environ if env is None else env
        return env.get("NB2PROD_STORE_URL") or self.store_url or f"sqlite:///{self.folder / 'audit.db'}"

    def path(self, relative: str) -> Path:
        return self.folder / relative

    @classmethod
    def parse(cls, raw: Mapping[str, Any], folder: Path) -> DeploymentSpec:
        for key in ("name", "version_id"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise bad_field(key, "must be a non-empty string", folder)
        scoring = TaskSpec.parse(raw, folder)
        features_raw = raw.get("features")
        if not isinstance(features_raw, list) or not features_raw:
            raise bad_field("features", "must be a non-empty list of {name, dtype, ...}", folder)
        features = tuple(FeatureSpec.parse(f, folder, i) for i, f in enumerate(features_raw))
        names = [f.name for f in features]
        if len(set(names)) != len(names):
            raise bad_field("features", "has duplicate names", folder)
        guardrails = raw.get("guardrails") or {}
        fallback = raw.get("fallback") or {}
        strategy = _STRATEGY_ALIASES.get(fallback.get("strategy", "constant"), fallback.get("strategy", "constant"))
        if strategy not in STRATEGIES:
            raise bad_field("fallback.strategy", f"{strategy!r} is not one of {', '.join(STRATEGIES)}", folder)
        if strategy == "previous_version" and not fallback.get("previous_version"):
            raise bad_field("fallback.previous_version", "must name the version to fall back to", folder)
        explain = raw.get("explain") or {}
        method = explain.get("method", "auto") or "none"
        if method not in EXPLAIN_METHODS:
            raise bad_field("explain.method", f"{method!r} is not one of {', '.join(EXPLAIN_METHODS)}", folder)
        health = raw.get("health") or {}
        uncertainty = raw.get("uncertainty") or {}
        serving = raw.get("serving") or {}
        max_violations = guardrails.get("max_violations", 0)
        if isinstance(max_violations, bool) or not isinstance(max_violations, int) or max_violations < 0:
            raise bad_field("guardrails.max_violations", f"must be a non-negative integer, got {max_violations!r}", folder)
        return cls(
            folder=folder,
            name=raw["name"],
            version_id=raw["version_id"],
            task=scoring.task,
            features=features,
            classes=scoring.classes,
            positive_class=scoring.positive_class,
            threshold=scoring.threshold,
            score_method=scoring.score_method,
            interval=scoring.interval,
            protected=tuple(raw.get("protected") or ()),
            max_violations=max_violations,
            fallback_strategy=strategy,
            fallback_constant=fallback.get("constant"),
            previous_version=fallback.get("previous_version"),
            timeout_ms=number_field(raw, "timeout_ms", 250.0, folder, low=1.0, high=600_000.0),
            explain_method=method,
            explain_sample_rate=number_field(explain, "sample_rate", 0.05, folder, low=0.0, high=1.0),
            max_error_rate=number_field(health, "max_error_rate", 0.2, folder, low=0.0, high=1.0),
            health_window=int(number_field(health, "window", 200, folder, low=1, high=1_000_000)),
            uncertainty_margin=number_field(uncertainty, "margin", 0.1, folder, low=0.0, high=1.0),
            max_batch=int(number_field(serving, "max_batch", 64, folder, low=1, high=100_000)),
            max_queue_ms=number_field(serving, "max_queue_ms", 1000.0, folder, low=1.0, high=600_000.0),
            max_rows=int(number_field(serving, "max_rows", 1000, folder, low=1, high=1_000_000)),
            max_body_bytes=int(number_field(serving, "max_body_bytes", 2 * 1024 * 1024, folder, low=1024, high=1 << 31)),
            workers=int(number_field(serving, "workers", 1, folder, low=1, high=256)),
            store_url=raw.get("store_url") or None,
            model_file=raw.get("model_file") or "model/model.pkl",
            baseline_file=raw.get("baseline_file") or "model/baseline.pkl",
            sample_file=raw.get("sample_file") or "sample.json",
            reference_file=raw.get("reference_file") or "reference.json",
            raw=dict(raw),
        )


def load_spec(folder: str | Path) -> DeploymentSpec:
    """Read and validate ``<folder>/deployment.json``."""
    folder = Path(folder).expanduser().resolve()
    path = folder / "deployment.json"
    if not path.is_file():
        raise NotFoundError(f"no deployment.json in {folder}", fix="point at a deployment folder written by %deploy")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path} is not readable JSON: {exc}", fix="re-run %deploy to regenerate it") from exc
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{path} must hold a JSON object", fix="re-run %deploy to regenerate it")
    return DeploymentSpec.parse(raw, folder)


def write_spec(folder: str | Path, raw: Mapping[str, Any]) -> DeploymentSpec:
    """Validate ``raw`` as the runtime will read it, then write ``<folder>/deployment.json``.

    The writer (``%deploy``) goes through the same parser as every reader, so a value it writes
    can never be refused by the service, the proof, ``rebuild`` or monitoring.
    """
    folder = Path(folder).expanduser().resolve()
    spec = DeploymentSpec.parse(raw, folder)
    text = json.dumps(dict(raw), indent=2, allow_nan=False)
    (folder / "deployment.json").write_text(text, encoding="utf-8")
    return spec
