"""``nb2prod/api/lint``: lint a notebook under the server root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web

from nb2prod.errors import UsageError
from nb2prod.server.base import BaseHandler
from nb2prod.server.paths import confine

__all__ = ["LintHandler"]


class LintHandler(BaseHandler):
    """``GET ?path=…`` lints statically; ``POST {"path": …, "run": true}`` also re-executes the notebook."""

    @tornado.web.authenticated
    async def get(self) -> None:
        if self.query_bool("run"):
            raise UsageError("the re-execution check runs the notebook's code: it needs a POST", fix='POST {"path": ..., "run": true}')
        await self._lint(self.get_query_argument("path", ""), run=False)

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        run = body.get("run", False)
        if not isinstance(run, bool):
            raise UsageError(f"run must be true or false, got {run!r}", fix='send {"run": true}')
        await self._lint(body.get("path"), run=run)

    async def _lint(self, path: Any, *, run: bool) -> None:
        contents = self.settings.get("contents_manager")
        root = Path(str(self.settings.get("server_root_dir") or getattr(contents, "root_dir", "."))).resolve()
        target = confine(root, path, allow_hidden=bool(getattr(contents, "allow_hidden", False)))
        report = await self.call(self.workspace.lint_notebook, target, run=run)
        shown = target.relative_to(root).as_posix()  # never tell the client where the root is
        body = report.to_dict()
        body["path"] = shown
        body["findings"] = [{**f, "path": shown} if f.get("path") in {str(target), report.path} else f for f in body["findings"]]
        self.write_json(body)
