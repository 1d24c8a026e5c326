"""The version registry: version records, states, traffic routing and its history, as the panels show them."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from nb2prod.models.record import Record
from nb2prod.models.runs import ScheduleItem

__all__ = ["DeploymentStatus", "RegistryEvent", "Traffic", "VersionRecord", "VersionState", "VersionStatus"]


class VersionState(enum.StrEnum):
    """Where a version stands in its deployment's traffic."""

    CANDIDATE = "candidate"
    LIVE = "live"
    SHADOW = "shadow"
    CANARY = "canary"
    CONTROL = "control"
    RETIRED = "retired"
    REFUSED = "refused"

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
class VersionStatus(Record):
    """One version of a deployment as the panels show it: its record, state, share of traffic (percent) and the
    traffic actions it allows now (``promote``, ``canary``, ``shadow``, ``control``, ``rollback`` — to it)."""

    record: VersionRecord
    state: VersionState
    traffic_percent: float = 0.0
    actions: tuple[str, ...] = ()

@dataclasses.dataclass(frozen=True, slots=True)
class DeploymentStatus(Record):
    """A deployment: its routing, its versions (newest first) and, when asked for, its history (newest first)."""

    name: str
    traffic: Traffic
    versions: tuple[VersionStatus, ...] = ()
    events: tuple[RegistryEvent, ...] = ()
    retrain: ScheduleItem | None = None  # retraining status: expired (max age) / due (alerts), with reasons
    rollback_stops: str | None = None  # the canary (else the control group) a rollback would stop now
    rollback_target: str | None = None  # else the version a rollback would make live again (None: nothing to roll back)
