"""Typed results shared by the core and every front — no loose dicts cross a boundary.

Each record is a frozen dataclass with ``to_dict()`` (JSON-ready) and, where a record is read
back from the store or a REST body, ``from_dict()``. One module per feature; every public name
is re-exported here, so ``from nb2prod.models import X`` is the one way to import a record.
Rendering (HTML cards, charts) belongs to the fronts that show them, not to these records.
"""

from __future__ import annotations

from nb2prod.models.audit import AuditEvent, Feedback, Override, Prediction
from nb2prod.models.deploy import DeployResult, RebuildResult, ServeInfo
from nb2prod.models.drift import ConceptDriftResult, DriftResult, EstimatedPerformance, FeatureDrift, MetricWindow
from nb2prod.models.lint import Finding, LintReport, Severity
from nb2prod.models.monitor import AlertCheck, AlertEvent, AlertRule, FairnessAttribute, FairnessResult, GroupRates, MonitorReport, OperationsResult, OpsStats
from nb2prod.models.record import Record
from nb2prod.models.rollout import Agreement, CanaryVerdict, GateDecision, LabelledComparison, RolloutPolicy, ShadowComparison
from nb2prod.models.runs import ContractReport, ContractViolation, DataFile, RetrainPolicy, RetrainResult, RetrainStep, RunRecord, ScheduleItem
from nb2prod.models.versions import DeploymentStatus, RegistryEvent, Traffic, VersionRecord, VersionState, VersionStatus

__all__ = [
    "Agreement",
    "AlertCheck",
    "AlertEvent",
    "AlertRule",
    "AuditEvent",
    "CanaryVerdict",
    "ConceptDriftResult",
    "ContractReport",
    "ContractViolation",
    "DataFile",
    "DeployResult",
    "DeploymentStatus",
    "DriftResult",
    "EstimatedPerformance",
    "FairnessAttribute",
    "FairnessResult",
    "FeatureDrift",
    "Feedback",
    "Finding",
    "GateDecision",
    "GroupRates",
    "LabelledComparison",
    "LintReport",
    "MetricWindow",
    "MonitorReport",
    "OperationsResult",
    "OpsStats",
    "Override",
    "Prediction",
    "RebuildResult",
    "Record",
    "RegistryEvent",
    "RetrainPolicy",
    "RetrainResult",
    "RetrainStep",
    "RolloutPolicy",
    "RunRecord",
    "ScheduleItem",
    "ServeInfo",
    "Severity",
    "ShadowComparison",
    "Traffic",
    "VersionRecord",
    "VersionState",
    "VersionStatus",
]
