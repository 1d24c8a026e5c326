"""Gateway mode: the service behind a gateway that does the routing (nginx on one machine, a Gateway API route in a cluster).

With ``NB2PROD_ROUTING=gateway`` (set by ``nb2prod serve --topology`` and by the generated
Kubernetes manifests) a service answers with its own version only: the gateway has already
chosen the arm (weighted backends) and copies a share of the live requests to the shadowing
version (a request mirror). So the service

- loads no other version and routes nothing in-process;
- labels its audit rows with the arm its version holds in the store's traffic (live, canary or
  control), or ``shadow`` for a mirrored request (``X-Nb2prod-Mirror: 1``);
- keeps the gateway's request id (``X-Request-Id``) as the row's correlation id
  (``client_request_id``): the audit key stays the service's own unguessable id, so a replayed
  or forged header can neither collide with nor overwrite a row. Live and mirrored rows of one
  request share that id, which is how the shadow comparison pairs them.

Both headers are trusted only in gateway mode, where the service listens where only the gateway
reaches it (127.0.0.1 locally; a ClusterIP Service behind the route in a cluster), and the
gateway overwrites whatever a client sent in them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nb2prod.limits import REQUEST_ID_LENGTH
from nb2prod.rollout.routing import Route

if TYPE_CHECKING:
    from nb2prod.models import Traffic

__all__ = [
    "MIRROR_HEADER",
    "REQUEST_ID_HEADER",
    "ROUTING_ENV",
    "GatewayHeaders",
    "GatewayRequest",
    "current_request",
    "gateway_arm",
    "gateway_mode",
    "gateway_routes",
]

ROUTING_ENV = "NB2PROD_ROUTING"
REQUEST_ID_HEADER = "X-Request-Id"
MIRROR_HEADER = "X-Nb2prod-Mirror"
_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.:\-]{{0,{REQUEST_ID_LENGTH - 8}}}")  # room for a batch row's "/<i>"


def gateway_mode(env: Mapping[str, str] | None = None) -> bool:
    """True when the service runs behind a routing gateway (``NB2PROD_ROUTING=gateway``)."""
    return (os.environ if env is None else env).get(ROUTING_ENV, "").strip().lower() == "gateway"


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    """What the gateway said about the request being answered."""

    request_id: str | None  # the gateway's id; None when absent or not a plain token
    mirrored: bool  # a copy for the shadowing version; the client never sees this answer


_current: ContextVar[GatewayRequest | None] = ContextVar("nb2prod_gateway_request", default=None)


def current_request() -> GatewayRequest | None:
    """The gateway's headers of the request this task answers (None outside a gateway request)."""
    return _current.get()


class GatewayHeaders:
    """ASGI middleware: reads ``X-Request-Id`` and ``X-Nb2prod-Mirror`` into a context variable the runtime reads."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        request_id: str | None = None
        mirrored = False
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                text = value.decode("latin-1").strip()
                request_id = text if _ID.fullmatch(text) else None
            elif name == b"x-nb2prod-mirror":
                mirrored = value.strip() == b"1"
        token = _current.set(GatewayRequest(request_id, mirrored))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


def gateway_arm(traffic: Traffic | None, own: str, mirrored: bool) -> str:
    """The arm ``own`` answers under: ``shadow`` for a mirrored copy, else its place in the traffic."""
    if mirrored:
        return "shadow"
    if traffic is not None and traffic.shadow == own and own not in (traffic.live, traffic.canary, traffic.control):
        # a version that only shadows gets nothing but mirrored copies; a Gateway API RequestMirror cannot
        # mark them with a header (nginx can), so in a cluster the version's place in the routing says it
        return "shadow"
    if traffic is not None and traffic.canary == own:
        return "canary"
    if traffic is not None and traffic.control == own:
        return "control"
    return "live"


def gateway_routes(traffic: Traffic | None, own: str, n: int, request: GatewayRequest | None = None) -> tuple[list[Route], list[str | None] | None]:
    """Each of ``n`` rows answered by ``own`` under its arm, and the rows' correlation ids (None: no gateway id).

    One row carries the gateway's id as it is; the rows of a batch carry ``<id>/<row>``.
    """
    request = current_request() if request is None else request
    mirrored = request is not None and request.mirrored
    route = Route(gateway_arm(traffic, own, mirrored), own, None)
    ids: list[str | None] | None = None
    if request is not None and request.request_id is not None:
        ids = [request.request_id] if n == 1 else [f"{request.request_id}/{i}" for i in range(n)]
    return [route] * n, ids
