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


_XSRF = "0123456789abcdef0123456789abcdef"


def _sample_value(group: re.Match[str]) -> str:
    body = group.group(1)
    return body.split("|")[0] if re.fullmatch(r"[\w|-]+", body) else "x"


async def test_every_route_refuses_unauthenticated_requests(jp_fetch: Any) -> None:
    from nb2prod.server.handlers import routes

    for pattern, handler in routes():
        # Each group becomes a value the route accepts: the first choice of an alternation, else "x"
        # (an unmatched path would be refused by the 404 handler and prove nothing).
        path = re.sub(r"\((?:\?P<\w+>)?([^)]*)\)", _sample_value, pattern)
        for method in ("GET", "POST", "PUT", "DELETE"):
            if getattr(handler, method.lower()) is getattr(tornado.web.RequestHandler, method.lower()):
                continue
            body = "{}" if method in ("POST", "PUT") else None
            # A matching XSRF cookie and header get past Jupyter's cross-site check, so the 403
            # can only come from the login check of the handler itself.
            headers = {"Authorization": "", "Cookie": f"_xsrf={_XSRF}", "X-XSRFToken": _XSRF}
            with pytest.raises(tornado.httpclient.HTTPClientError) as err:
                await jp_fetch("nb2prod", "api", *path.split("/"), method=method, body=body, headers=headers)
            assert err.value.code == 403, f"{method} {pattern} answered {err.value.code} without authentication"
            refusal = err.value.response.body.decode() if err.value.response is not None else ""
            assert "xsrf" not in refusal.lower(), f"{method} {pattern} was refused by the XSRF check, not by login: {refusal}"
