"""``nb2prod/api/deployments/NAME/{monitor,drift,shadow}`` and ``nb2prod/api/alerts``: what monitoring computed."""

from __future__ import annotations

import tornado.web

from nb2prod.judgement import judge
from nb2prod.server.base import BaseHandler
from nb2prod.server.dashboard import points_for_window
from nb2prod.server.payloads import AlertList, DriftSeries, MonitorView

__all__ = ["AlertsHandler", "DriftSeriesHandler", "MonitorHandler", "ShadowHandler"]


class MonitorHandler(BaseHandler):
    """``GET ?window=1h&n_windows=12``: data drift, concept drift, fairness and operations over one window.

    Without ``n_windows`` the bucket count follows the window (a day: 24 hourly buckets), as on the dashboard.
    """

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        window = self.get_query_argument("window", "1h")
        n_windows = self.query_int("n_windows", points_for_window(window), high=200)
        report = await self.call(self.workspace.monitor, name, window=window, n_windows=n_windows)
        # the same judgement per metric as the dashboard and the widget, so no view contradicts another
        self.write_json(MonitorView.of(report, judge(report)).to_dict())


class DriftSeriesHandler(BaseHandler):
    """``GET ?window=1d&points=24``: per-feature drift in consecutive sub-windows, oldest first (``points`` defaults from the window)."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        window = self.get_query_argument("window", "1d")
        points = self.query_int("points", points_for_window(window), high=200)
        series = await self.call(self.workspace.drift_series, name, window=window, points=points)
        self.write_json(DriftSeries(name, window, tuple(series)).to_dict())


class ShadowHandler(BaseHandler):
    """``GET ?window=1d&candidate=VERSION``: live vs shadow on the same requests (agreement CI, flip matrix, scores, segments)."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        window = self.get_query_argument("window", None) or None
        candidate = self.get_query_argument("candidate", None) or None
        comparison = await self.call(self.workspace.compare, name, candidate=candidate, window=window)
        self.write_json(comparison.to_dict())


class AlertsHandler(BaseHandler):
    """``GET ?name=credit&limit=50``: recorded alerts, newest first."""

    @tornado.web.authenticated
    async def get(self) -> None:
        name = self.get_query_argument("name", None) or None
        alerts = await self.call(self.workspace.alerts, name, limit=self.query_int("limit", 50, high=1000))
        self.write_json(AlertList(tuple(alerts)).to_dict())
