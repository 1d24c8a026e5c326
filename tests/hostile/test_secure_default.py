"""Secure by default: a token always exists, protected routes refuse without it (or when none is set), /status hides paths."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import httpx
from service_proc import SERVICE_TOKEN, Served

from nb2prod.package.service_token import ensure_token, read_token
from nb2prod.runtime.asgi import RequestGuard


def test_the_first_serve_creates_a_private_token_and_reuses_it(tmp_path: Path) -> None:
    first = ensure_token(tmp_path, env={})
    assert first.created and first.path == tmp_path / "service-token" and len(first.value) >= 32
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    assert first.value not in first.usage and str(first.path) in first.usage  # says how, never echoes the secret
    again = ensure_token(tmp_path, env={})
    assert (again.value, again.created) == (first.value, False) and read_token(tmp_path, env={}) == first.value
    assert ensure_token(tmp_path, env={"NB2PROD_SERVICE_TOKEN": "from-env"}).value == "from-env"


def _call(guard: RequestGuard, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"content-type", b"application/json"), *headers]}
    asyncio.run(guard(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


def test_without_a_token_the_protected_routes_refuse_everyone() -> None:
    open_guard = RequestGuard(_ok, token=None)
    for path in ("/feedback", "/override", "/status"):
        status, body = _call(open_guard, path, [(b"authorization", b"Bearer anything")])
        assert status == 401 and "started without one" in body["message"] and "NB2PROD_SERVICE_TOKEN" in body["fix"]
    for path in ("/predict", "/predict_batch", "/livez", "/readyz", "/metrics"):
        assert _call(open_guard, path, [])[0] == 200


def test_predict_is_protected_when_the_deployment_opts_in() -> None:
    guard = RequestGuard(_ok, token="t0k", protect_predict=True)
    assert _call(guard, "/predict", [])[0] == 401
    assert _call(guard, "/predict_batch", [(b"authorization", b"Bearer nope")])[0] == 401
    assert _call(guard, "/predict", [(b"authorization", b"Bearer t0k")])[0] == 200
    assert _call(guard, "/metrics", [])[0] == 200


def test_status_needs_the_token_and_shows_no_absolute_path(served: Served) -> None:
    refused = httpx.post(f"{served.url}/status", json={}, timeout=30)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    reply = httpx.post(f"{served.url}/status", json={}, headers={"authorization": f"Bearer {SERVICE_TOKEN}"}, timeout=30)
    assert reply.status_code == 200 and reply.json()["audit"]["spool_dir"]
    assert str(served.folder.parent.parent) not in reply.text and '"/' not in reply.text
    for probe in ("/livez", "/readyz", "/metrics"):
        assert httpx.get(f"{served.url}{probe}", timeout=30).status_code == 200
