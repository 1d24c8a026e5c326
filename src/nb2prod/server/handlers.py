"""REST handlers. Each is a few lines: parse, call the core off the event loop, answer JSON."""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.ioloop import IOLoop

from nb2prod.api import Workspace
from nb2prod.errors import Nb2prodError

__all__ = ["API_PREFIX", "BaseHandler", "InfoHandler", "routes", "setup_handlers"]

API_PREFIX = "nb2prod/api"


class BaseHandler(APIHandler):
    """Maps nb2prod errors to their HTTP status with a JSON body; runs core calls in a thread."""

    @property
    def workspace(self) -> Workspace:
        workspace: Workspace = self.settings["nb2prod_workspace"]
        return workspace

    async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await IOLoop.current().run_in_executor(None, lambda: fn(*args, **kwargs))

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Nb2prodError):
            self.set_status(exc.http_status)
            self.finish(json.dumps(exc.to_dict()))
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, Nb2prodError):
            self.log.info("nb2prod %s: %s", value.code, value)
            return
        super().log_exception(typ, value, tb)


class InfoHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.write_json(await self.call(self.workspace.info))


def routes() -> list[tuple[str, type[BaseHandler]]]:
    """Every REST route, relative to ``<base_url>/nb2prod/api/``; each handler method is authenticated."""
    return [("info", InfoHandler)]


def setup_handlers(serverapp: Any) -> None:
    web_app = serverapp.web_app
    web_app.settings.setdefault("nb2prod_workspace", Workspace.open())
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(".*$", [(url_path_join(base, path), handler) for path, handler in routes()])
