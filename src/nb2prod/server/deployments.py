"""``nb2prod/api/deployments``: versions, routing and history; promote / rollback / canary."""

from __future__ import annotations

from typing import Any

import tornado.web

from nb2prod.errors import UsageError
from nb2prod.server.base import BaseHandler
from nb2prod.server.payloads import DeploymentList

__all__ = ["DeploymentHandler", "DeploymentsHandler", "TrafficHandler"]


class DeploymentsHandler(BaseHandler):
    """``GET``: every deployment with its routing and versions."""

    @tornado.web.authenticated
    async def get(self) -> None:
        found = await self.call(self.workspace.deployments)
        self.write_json(DeploymentList(tuple(found)).to_dict())


class DeploymentHandler(BaseHandler):
    """``GET deployments/NAME?history=100``: routing, versions (each with the traffic actions it allows now),
    what a rollback would do now, and the history of one deployment."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        status = await self.call(self.workspace.deployment, name, history=self.query_int("history", 100, low=0, high=5000))
        self.write_json(status.to_dict())


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{key!r} must be a non-empty string", fix=f'send e.g. {{"{key}": "..."}}')
    return value.strip()


class TrafficHandler(BaseHandler):
    """``POST deployments/NAME/{promote,rollback,canary}`` with ``{"version", "percent", "to", "reason", "approve"}``.

    ``approve`` (default ``false``) is a human decision: on promote, approving a shadow version the
    shadow gate sent for approval (``needs_approval``; it never overrides a ``blocked`` gate); on
    canary, sending real traffic to a version whose latest shadow gate blocked it.
    """

    @tornado.web.authenticated
    async def post(self, name: str, action: str) -> None:
        body, ws = self.json_body(), self.workspace
        reason = _text(body, "reason") or ""
        approve = body.get("approve", False)
        if not isinstance(approve, bool):
            raise UsageError(f"approve must be true or false, got {approve!r}", fix='send {"approve": true} to approve a gated version')
        if action == "promote":
            status = await self.call(ws.promote, f"{name}:{_text(body, 'version', required=True)}", actor=self.actor, reason=reason,
                                     approve=approve)
        elif action == "rollback":
            status = await self.call(ws.rollback, name, to=_text(body, "to"), actor=self.actor, reason=reason)
        else:  # the percent is checked where every front's is: the canary transition
            status = await self.call(ws.canary, f"{name}:{_text(body, 'version', required=True)}", body.get("percent"), actor=self.actor,
                                     reason=reason, approve=approve)
        self.write_json(status.to_dict())
