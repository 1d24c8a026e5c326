"""REST routes. Each handler is a few lines: parse, call the core off the event loop, answer JSON.

Every route lives under ``<base_url>/nb2prod/api/`` and every handler method is
``@tornado.web.authenticated``; errors go through :class:`~nb2prod.server.base.BaseHandler`.
"""

from __future__ import annotations

from typing import Any

import tornado.web
from jupyter_server.utils import url_path_join

from nb2prod.api import Workspace
from nb2prod.server.base import BaseHandler
from nb2prod.server.dashboard import DashboardHandler
from nb2prod.server.deployments import DeploymentHandler, DeploymentsHandler, TrafficHandler
from nb2prod.server.lint import LintHandler
from nb2prod.server.monitoring import AlertsHandler, DriftSeriesHandler, MonitorHandler, ShadowHandler
from nb2prod.server.payloads import WorkspaceInfo

__all__ = ["API_PREFIX", "BaseHandler", "InfoHandler", "routes", "setup_handlers"]

API_PREFIX = "nb2prod/api"
_NAME = r"(?P<name>[^/]+)"


class InfoHandler(BaseHandler):
    """``GET``: where the workspace is and what it holds."""

    @tornado.web.authenticated
    async def get(self) -> None:
        info = await self.call(self.workspace.info)
        self.write_json(WorkspaceInfo(**{**info, "deployments": tuple(info["deployments"])}).to_dict())


def routes() -> list[tuple[str, type[BaseHandler]]]:
    """Every REST route, relative to ``<base_url>/nb2prod/api/``; each handler method is authenticated."""
    return [
        ("info", InfoHandler),
        ("lint", LintHandler),
        ("deployments", DeploymentsHandler),
        (f"deployments/{_NAME}", DeploymentHandler),
        (f"deployments/{_NAME}/(?P<action>promote|rollback|canary)", TrafficHandler),
        (f"deployments/{_NAME}/monitor", MonitorHandler),
        (f"deployments/{_NAME}/drift", DriftSeriesHandler),
        (f"deployments/{_NAME}/shadow", ShadowHandler),
        (f"deployments/{_NAME}/dashboard", DashboardHandler),
        ("alerts", AlertsHandler),
    ]


def setup_handlers(serverapp: Any) -> None:
    web_app = serverapp.web_app
    web_app.settings.setdefault("nb2prod_workspace", Workspace.open())
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(".*$", [(url_path_join(base, path), handler) for path, handler in routes()])
