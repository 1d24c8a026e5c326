"""The REST answers that are not a record on their own: lists, the monitor view, the dashboard.

Each handler builds one of these (or a record from :mod:`nb2prod.models`) and answers its
``to_dict()``, so the JSON Schema of :mod:`nb2prod.server.schema` — and the TypeScript types
generated from it — describe what the server sends, field for field.
"""

from __future__ import annotations

import dataclasses

from nb2prod.judgement import Judgement
from nb2prod.models import (
    AlertEvent,
    DeploymentStatus,
    DriftResult,
    MonitorReport,
    Record,
    ShadowComparison,
    Traffic,
    VersionState,
)

__all__ = ["AlertList", "Dashboard", "DashboardVersion", "DeploymentList", "DriftSeries", "MonitorView", "WorkspaceInfo"]


@dataclasses.dataclass(frozen=True, slots=True)
class DeploymentList(Record):
    """``GET deployments``: every deployment with its routing and versions."""

    deployments: tuple[DeploymentStatus, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class MonitorView(MonitorReport):
    """``GET deployments/NAME/monitor``: the monitoring report with one judgement per metric, as every view colours it."""

    judgements: dict[str, Judgement] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, report: MonitorReport, judgements: dict[str, Judgement]) -> MonitorView:
        return cls(**{f.name: getattr(report, f.name) for f in dataclasses.fields(report)}, judgements=judgements)


@dataclasses.dataclass(frozen=True, slots=True)
class DriftSeries(Record):
    """``GET deployments/NAME/drift``: per-feature drift in consecutive sub-windows, oldest first."""

    name: str
    window: str
    series: tuple[DriftResult, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class AlertList(Record):
    """``GET alerts``: recorded alerts, newest first."""

    alerts: tuple[AlertEvent, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class DashboardVersion(Record):
    """One version of the deployment in the dashboard's window; ``n`` is the predictions it answered there."""

    version_id: str
    state: VersionState
    traffic_percent: float
    created_at: str
    n: int


@dataclasses.dataclass(frozen=True, slots=True)
class Dashboard(Record):
    """``GET deployments/NAME/dashboard``: one refresh of the monitoring dashboard, for one version."""

    name: str
    version_id: str
    state: VersionState
    window: str
    points: int
    traffic: Traffic
    versions: tuple[DashboardVersion, ...]
    monitor: MonitorReport
    judgements: dict[str, Judgement]
    drift_series: tuple[DriftResult, ...]
    shadow: ShadowComparison | None
    alerts: tuple[AlertEvent, ...]
    notes: tuple[str, ...]
    server_ms: float


@dataclasses.dataclass(frozen=True, slots=True)
class WorkspaceInfo(Record):
    """``GET info``: where the workspace is and what it holds."""

    version: str
    home: str
    store: str
    bentoml_home: str
    deployments: tuple[str, ...]
    predictions: int
    runs: int
