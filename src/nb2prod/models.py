"""Typed results shared by the core and every front — no loose dicts cross a boundary.

Each record is a frozen dataclass with ``to_dict()`` (JSON-ready) and, where a record is read
back from the store or a REST body, ``from_dict()``.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from pathlib import Path
from typing import Any, Self

__all__ = [
    "Record",
    "Severity",
    "VersionState",
    "Finding",
    "LintReport",
    "VersionRecord",
    "AuditEvent",
    "Feedback",
    "Override",
    "RegistryEvent",
    "RunRecord",
    "AlertEvent",
    "Traffic",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class Record:
    """Mixin: JSON-ready dict of a dataclass, recursively."""

    def to_dict(self) -> dict[str, Any]:
        assert dataclasses.is_dataclass(self)
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        assert dataclasses.is_dataclass(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class Severity(str, enum.Enum):
    """Lint severities, ordered: ``error`` > ``warning`` > ``info``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class VersionState(str, enum.Enum):
    """Where a version stands in its deployment's traffic."""

    CANDIDATE = "candidate"
    LIVE = "live"
    SHADOW = "shadow"
    CANARY = "canary"
    CONTROL = "control"
    RETIRED = "retired"
    REFUSED = "refused"


@dataclasses.dataclass(frozen=True, slots=True)
class Finding(Record):
    """One lint finding, located in a notebook cell."""

    rule: str
    severity: Severity
    message: str
    path: str = ""
    cell_index: int | None = None
    cell_id: str | None = None
    line: int | None = None
    fix: str | None = None
    evidence: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return super(Finding, cls).from_dict({**data, "severity": Severity(data["severity"])})


@dataclasses.dataclass(frozen=True, slots=True)
class LintReport(Record):
    """All findings for one notebook."""

    path: str
    findings: tuple[Finding, ...] = ()
    executed: bool = False

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)


@dataclasses.dataclass(frozen=True, slots=True)
class VersionRecord(Record):
    """Everything that identifies one deployed model version.

    Ties the data fingerprint, notebook/code fingerprint, model hash and environment lock
    together; every audit row carries ``version_id``.
    """

    version_id: str
    name: str
    created_at: str
    model_hash: str
    data_fingerprint: dict[str, Any] = dataclasses.field(default_factory=dict)
    code_fingerprint: dict[str, Any] = dataclasses.field(default_factory=dict)
    environment: dict[str, Any] = dataclasses.field(default_factory=dict)
    schema: dict[str, Any] = dataclasses.field(default_factory=dict)
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    lint: dict[str, Any] = dataclasses.field(default_factory=dict)
    parent: str | None = None
    bento_tag: str | None = None
    model_tag: str | None = None
    deployment_dir: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEvent(Record):
    """One prediction as the audit log keeps it."""

    request_id: str
    name: str
    version_id: str
    ts: float
    inputs: dict[str, Any]
    output: Any = None
    score: float | None = None
    probabilities: list[float] | None = None
    latency_ms: float | None = None
    fallback: bool = False
    fallback_reason: str | None = None
    violations: list[str] = dataclasses.field(default_factory=list)
    arm: str = "live"
    shadow_version: str | None = None
    shadow_output: Any = None
    shadow_score: float | None = None
    shadow_error: str | None = None
    explanation: dict[str, float] | None = None
    confidence: str | None = None
    error: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Feedback(Record):
    """A ground-truth label or business outcome for one request."""

    request_id: str
    label: Any = None
    outcome: float | None = None
    ts: float = 0.0
    source: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Override(Record):
    """A human operator's decision replacing the model's for one request."""

    request_id: str
    decision: Any
    operator: str
    reason: str
    ts: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class RegistryEvent(Record):
    """One step in a deployment's history: deploy, gate, promote, canary, rollback…"""

    name: str
    action: str
    version_id: str | None
    actor: str
    reason: str
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    ts: float = 0.0
    id: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Traffic(Record):
    """Which versions of a deployment receive traffic, and how much."""

    name: str
    live: str | None = None
    shadow: str | None = None
    shadow_percent: float = 100.0
    canary: str | None = None
    canary_percent: float = 0.0
    control: str | None = None
    control_percent: float = 0.0
    updated_at: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class RunRecord(Record):
    """One parameterised notebook run."""

    run_id: str
    notebook: str
    output: str
    parameters: dict[str, Any]
    status: str
    started_at: float
    duration_s: float | None = None
    data_fingerprints: dict[str, Any] = dataclasses.field(default_factory=dict)
    error: str | None = None
    result: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class AlertEvent(Record):
    """A fired alert rule."""

    name: str
    rule: str
    metric: str
    value: float
    threshold: float
    window: str
    ts: float = 0.0
    delivered: bool = False
    id: int | None = None
