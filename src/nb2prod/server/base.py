"""The one base handler: JSON in and out, one error mapping, core calls off the event loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado.ioloop import IOLoop

from nb2prod.api import Workspace
from nb2prod.errors import Nb2prodError, UsageError

__all__ = ["BaseHandler"]


class BaseHandler(APIHandler):
    """Maps nb2prod errors to their HTTP status with a JSON body; runs core calls in a thread.

    Client mistakes raise :class:`~nb2prod.errors.UsageError` (400) and friends, never a 500.
    """

    @property
    def workspace(self) -> Workspace:
        workspace: Workspace = self.settings["nb2prod_workspace"]
        return workspace

    @property
    def actor(self) -> str:
        """Who is asking, for the registry history."""
        user = self.current_user
        return str(getattr(user, "display_name", None) or getattr(user, "name", None) or getattr(user, "username", None) or user or "jupyter")

    async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await IOLoop.current().run_in_executor(None, lambda: fn(*args, **kwargs))

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    # -- input -------------------------------------------------------------------------------
    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (an empty body is ``{}``)."""
        raw = self.request.body.decode("utf-8", errors="replace").strip()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UsageError(f"the request body is not JSON: {exc.msg}", fix="send a JSON object") from exc
        except RecursionError as exc:  # e.g. 50,000 nested brackets: the parser's stack, not a server fault
            raise UsageError("the request body is nested too deeply", fix='send a flat JSON object, e.g. {"version": "v2026..."}') from exc
        if not isinstance(body, dict):
            raise UsageError("the request body must be a JSON object", fix='send e.g. {"version": "v2026..."}')
        return body

    def query_bool(self, key: str, default: bool = False) -> bool:
        value = self.get_query_argument(key, None)
        if value is None:
            return default
        if value.lower() in {"1", "true", "yes", "on"}:
            return True
        if value.lower() in {"0", "false", "no", "off", ""}:
            return False
        raise UsageError(f"{key}={value!r} is not a boolean", fix=f"use {key}=true or {key}=false")

    def query_int(self, key: str, default: int, *, low: int = 1, high: int = 10_000) -> int:
        value = self.get_query_argument(key, None)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise UsageError(f"{key}={value!r} must be a whole number from {low} to {high}", fix=f"e.g. {key}={default}")
        return number

    # -- errors ------------------------------------------------------------------------------
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Nb2prodError):
            self.set_status(exc.http_status)
            self.set_header("Content-Type", "application/json")
            self.finish(self._without_root(json.dumps(exc.to_dict(), default=str)))
            return
        super().write_error(status_code, **kwargs)

    def _without_root(self, text: str) -> str:
        """``text`` with the server's root folder removed: a client sees paths as it named them, never the host's layout."""
        root = self.settings.get("server_root_dir") or getattr(self.settings.get("contents_manager"), "root_dir", None)
        if not root:
            return text
        for variant in {str(root), str(Path(root).expanduser().resolve())}:
            prefix = variant.rstrip("/") + "/"
            text = text.replace(json.dumps(prefix)[1:-1], "").replace(json.dumps(variant.rstrip("/"))[1:-1], ".")
        return text

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, Nb2prodError):
            self.log.info("nb2prod %s: %s", value.code, value)
            return
        super().log_exception(typ, value, tb)
