"""The server extension loads, every nb2prod route needs authentication, errors map to JSON."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import tornado.httpclient
import tornado.web


async def test_info_route_answers_json(jp_fetch: Any) -> None:
    response = await jp_fetch("nb2prod", "api", "info")
    assert response.code == 200
    body = json.loads(response.body)
    assert body["version"] and body["store"].startswith("sqlite")


async def test_every_route_refuses_unauthenticated_requests(jp_fetch: Any) -> None:
    from nb2prod.server.handlers import routes

    for pattern, handler in routes():
        path = re.sub(r"\(\?P<\w+>[^)]*\)|\([^)]*\)", "x", pattern)
        for method in ("GET", "POST", "PUT", "DELETE"):
            if getattr(handler, method.lower()) is getattr(tornado.web.RequestHandler, method.lower()):
                continue
            body = "{}" if method in ("POST", "PUT") else None
            with pytest.raises(tornado.httpclient.HTTPClientError) as err:
                await jp_fetch("nb2prod", "api", *path.split("/"), method=method, body=body, headers={"Authorization": ""})
            assert err.value.code == 403, f"{method} {pattern} answered {err.value.code} without authentication"
