"""Notebook runs, data contracts and the retraining loop."""

from __future__ import annotations

import dataclasses
from typing import Any, Self

from nb2prod.models.record import Record

__all__ = ["ContractReport", "ContractViolation", "DataFile", "RetrainPolicy", "RetrainResult", "RetrainStep", "RunRecord", "ScheduleItem"]


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
class DataFile(Record):
    """A data file a notebook reads: its path relative to the notebook folder, size and sha256."""

    path: str
    size: int
    sha256: str

@dataclasses.dataclass(frozen=True, slots=True)
class RetrainPolicy(Record):
    """When a model must be retrained and how its candidate is promoted.

    ``max_age_days``: the live version expires that many days after it was created.
    ``on_alerts``: alert rule names or metrics (e.g. ``"data drift"``, ``"concept.score"``) that
    make a retrain due when they fire after the live version was deployed. ``auto_promote``:
    promote the candidate as soon as the shadow gate passes (else wait for a human).
    ``parameters``: papermill parameters every retrain run gets; ``cron``: the CronJob schedule.
    """

    name: str
    max_age_days: float | None = 30.0
    on_alerts: tuple[str, ...] = ("data drift", "concept drift")
    auto_promote: bool = False
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    notebook: str | None = None
    cron: str = "0 3 * * *"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return super(RetrainPolicy, cls).from_dict({**data, "on_alerts": tuple(data.get("on_alerts") or ())})

@dataclasses.dataclass(frozen=True, slots=True)
class ContractViolation(Record):
    """One way new data breaks a version's data contract (``kind``: missing, extra, dtype, nulls, category, range)."""

    feature: str
    kind: str
    message: str
    share: float | None = None

@dataclasses.dataclass(frozen=True, slots=True)
class ContractReport(Record):
    """New data checked against the schema and guardrails recorded at deploy."""

    name: str
    version_id: str
    rows: int
    violations: tuple[ContractViolation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        if self.ok:
            return f"{self.rows} rows meet the data contract of {self.version_id}"
        lines = [f"{self.rows} rows break the data contract of {self.version_id}:"]
        lines += [f"  - {v.feature}: {v.message}" for v in self.violations]
        return "\n".join(lines)

@dataclasses.dataclass(frozen=True, slots=True)
class RetrainStep(Record):
    """One step of a retrain (``contract``, ``feedback``, ``train``, ``shadow_gate``, ``promote``) and its outcome."""

    step: str
    status: str  # "ok" | "failed" | "refused" | "skipped" | "waiting"
    detail: str = ""
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    duration_s: float = 0.0

@dataclasses.dataclass(frozen=True, slots=True)
class RetrainResult(Record):
    """A retrain: its steps, the candidate it produced, and where the deployment stands after it.

    ``outcome``: ``promoted``, ``awaiting_approval``, ``shadowing`` (gate blocked, candidate kept in
    shadow), ``refused`` (a gate refused) or ``failed``. The live version is only changed by ``promoted``.
    """

    retrain_id: str
    name: str
    live_before: str | None
    live_after: str | None
    candidate: str | None
    outcome: str
    steps: tuple[RetrainStep, ...] = ()
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    run_id: str | None = None
    duration_s: float = 0.0

@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleItem(Record):
    """One deployment's retraining status: its live version's age, expiry and the alerts that make it due."""

    name: str
    live_version: str | None
    age_days: float | None
    expired: bool
    due: bool
    reasons: tuple[str, ...] = ()
    policy: RetrainPolicy | None = None
