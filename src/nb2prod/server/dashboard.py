"""``nb2prod/api/deployments/NAME/dashboard``: everything the monitoring dashboard draws, in one answer.

One refresh of the full-width dashboard is one request, so its server time is one figure
(``server_ms``) and the dashboard never mixes windows or versions from separate answers.
The time-bucket count follows the window, so a day is drawn as 24 hourly points and not one dot.
"""

from __future__ import annotations

import time
from typing import Any

import tornado.web

from nb2prod.errors import Nb2prodError, UsageError
from nb2prod.judgement import judge
from nb2prod.models import VersionState
from nb2prod.monitor.windows import parse_window
from nb2prod.server.base import BaseHandler
from nb2prod.server.payloads import Dashboard, DashboardVersion

__all__ = ["DashboardHandler", "dashboard", "points_for_window"]

# Bucket width per window: wide enough that a bucket of the seeded/typical traffic holds the
# 30 rows a drift test needs, narrow enough that a day reads as a curve (24 hourly points).
_POINTS = ((15 * 60, 15), (3600, 12), (6 * 3600, 24), (86400, 24), (7 * 86400, 28))


def points_for_window(window: str) -> int:
    """Time buckets drawn for ``window``: 15m → 15 (1 min), 1h → 12 (5 min), 6h → 24, 1d → 24 (1 h), 7d → 28 (6 h)."""
    seconds = parse_window(window)
    if seconds is None:
        return 24
    for limit, points in _POINTS:
        if seconds <= limit:
            return points
    return 30


def _version_rows(status: Any, by_version: dict[str, int]) -> tuple[DashboardVersion, ...]:
    return tuple(DashboardVersion(v.record.version_id, v.state, v.traffic_percent, v.record.created_at, by_version.get(v.record.version_id, 0))
                 for v in status.versions)


def dashboard(workspace: Any, name: str, *, window: str = "1d", version: str | None = None, points: int | None = None) -> dict[str, Any]:
    """Monitoring report, per-feature drift series, shadow comparison and alerts of one version of ``name``.

    ``version`` defaults to the live version (else the newest). The answer says which version it
    shows, every version's state and its rows in the window, so no other version's rows are
    counted silently.
    """
    started = time.perf_counter()
    parse_window(window)  # a bad window is a 400 before any work
    chosen_points = points if points is not None else points_for_window(window)
    status = workspace.deployment(name, history=50)
    ref = f"{status.name}:{version}" if version else status.name
    record = workspace.store.registry.resolve(ref)
    ref = f"{status.name}:{record.version_id}"
    state = next((v.state for v in status.versions if v.record.version_id == record.version_id), VersionState.CANDIDATE)
    notes: list[str] = []
    # one read of the window's profiles gives the report and the drift series (same sub-windows)
    report, drift_points = workspace.monitor_with_series(ref, window=window, points=chosen_points)
    series = tuple(drift_points)
    if report.n == 0:
        notes.append(f"drift over time: no predictions of {record.version_id} in the window {window}")
    shadow = None
    if status.traffic.shadow and record.version_id == status.traffic.live:
        try:
            shadow = workspace.compare(status.name, window=None if parse_window(window) is None else window)
        except Nb2prodError as exc:
            notes.append(f"shadow comparison: {exc}")
    by_version = {o.version_id: o.n for o in report.operations.by_version if o.version_id}
    alerts = tuple(workspace.alerts(status.name, limit=20))
    return Dashboard(
        name=status.name,
        version_id=record.version_id,
        state=state,
        window=window,
        points=chosen_points,
        traffic=status.traffic,
        versions=_version_rows(status, by_version),
        monitor=report,
        judgements=judge(report),
        drift_series=series,
        shadow=shadow,
        alerts=alerts,
        notes=tuple(notes),
        server_ms=round((time.perf_counter() - started) * 1000, 1),
    ).to_dict()


class DashboardHandler(BaseHandler):
    """``GET ?window=1d&version=VERSION&points=24``: one refresh of the monitoring dashboard."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        window = self.get_query_argument("window", "1d") or "1d"
        version = self.get_query_argument("version", None) or None
        points = self.query_int("points", 0, low=0, high=200) or None
        if version is not None and ":" in version:
            raise UsageError(f"version={version!r} must be a version id, not NAME:VERSION", fix="e.g. version=credit-v20261123t170102-3f9a1c")
        self.write_json(await self.call(dashboard, self.workspace, name, window=window, version=version, points=points))
