"""Pure-ASGI guard the generated service mounts: 413 for oversized bodies, 415 for non-JSON bodies,
401 for a feedback or override without the service token (when one is set), and BentoML's
request-validation 400s made readable (one line naming each bad field, structured detail kept)."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from nb2prod.runtime.open_requests import OPEN_PREDICTIONS

__all__ = ["PREDICT_ROUTES", "TOKEN_PROTECTED", "RequestGuard", "public_status", "quiet_validation_tracebacks", "readable_validation_error"]

# The endpoints that change what the audit log says happened (labels feed concept drift, fairness and
# retraining; an override replaces the model's decision) and the one that shows the service's inner
# state. Probes (/livez, /readyz, /healthz) and /metrics stay open for orchestrators and scrapers.
TOKEN_PROTECTED = frozenset({"/feedback", "/override", "/status"})
#: also protected when the deployment opts in (NB2PROD_PROTECT_PREDICT=1)
PREDICT_ROUTES = frozenset({"/predict", "/predict_batch"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestGuard:
    """Answer client mistakes at the door, before BentoML parses anything.

    - a body over ``max_bytes``: 413 (``Content-Length`` checked up front; a chunked body is
      counted as it streams and cut off once it passes the limit);
    - a POST whose ``Content-Type`` is not JSON (e.g. ``multipart/form-data`` without a
      boundary, which would otherwise crash the parser into a 500): 415;
    - a request to :data:`TOKEN_PROTECTED` (and :data:`PREDICT_ROUTES` with ``protect_predict``)
      without ``Authorization: Bearer <token>``: 401, and nothing is recorded. Without a
      ``token`` these routes refuse everyone (fail closed): ``nb2prod serve`` always passes one.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = 2 * 1024 * 1024, token: str | None = None, protect_predict: bool = False) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.expected = f"Bearer {token}".encode() if token else None
        self.protected = TOKEN_PROTECTED | PREDICT_ROUTES if protect_predict else TOKEN_PROTECTED
        self._document: bytes | None = None
        quiet_validation_tracebacks()  # the middleware is built in each worker, after BentoML set up logging

    async def _openapi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """BentoML's OpenAPI document, corrected once (nullable fields, error schema, every status) and cached."""
        if self._document is None:
            parts: list[Message] = []

            async def collect(message: Message) -> None:
                parts.append(message)

            await self.app(scope, receive, collect)
            start = next((m for m in parts if m["type"] == "http.response.start"), None)
            raw = b"".join(m.get("body", b"") for m in parts if m["type"] == "http.response.body")
            if start is None or start.get("status") != 200:
                for message in parts:
                    await send(message)
                return
            from nb2prod.runtime.openapi import describe_service

            self._document = json.dumps(describe_service(json.loads(raw), protected=sorted(self.protected))).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self._document)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self._document})

    def _body(self, size: int | None) -> bytes:
        shown = f"{size} bytes" if size is not None else "the request body"
        return json.dumps(
            {
                "error": "payload_too_large",
                "message": f"{shown} exceeds the limit of {self.max_bytes} bytes",
                "fix": "send fewer rows per request (split the batch)",
            }
        ).encode()

    async def _refuse(self, send: Send, size: int | None, *, status: int = 413, body: bytes | None = None, challenge: bool = False) -> None:
        body = body if body is not None else self._body(size)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if challenge:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") == "/docs.json" and scope.get("method") == "GET":
            await self._openapi(scope, receive, send)
            return
        if scope.get("path") in self.protected:
            given = next((value for name, value in scope.get("headers", ()) if name == b"authorization"), b"")
            if self.expected is None or not hmac.compare_digest(given, self.expected):
                body = _unauthorized(str(scope.get("path")), configured=self.expected is not None)
                await self._refuse(send, None, status=401, body=body, challenge=True)
                return
        for name, value in scope.get("headers", ()):
            if name == b"content-type" and scope.get("method") == "POST":
                media = value.split(b";")[0].strip().lower()
                if media and media != b"application/json" and not media.endswith(b"+json"):
                    await self._refuse(send, None, status=415, body=_UNSUPPORTED)
                    return
            if name == b"content-length":
                try:
                    size = int(value)
                except ValueError:
                    size = None
                if size is not None and size > self.max_bytes:
                    await self._refuse(send, size)
                    return
        seen = 0
        started = False
        refused = False
        held: Message | None = None  # a 400's start, held until its body is rewritten
        chunks: list[bytes] = []

        async def limited_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    refused = True  # whatever the app answers now is replaced by the 413
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started, held
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
                if message.get("status") == 400:
                    held = message
                    return
            if held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = readable_validation_error(b"".join(chunks))
                headers = [(k, v) for k, v in held.get("headers", ()) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**held, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        counted = scope.get("path") in PREDICT_ROUTES and scope.get("method") == "POST"
        if counted:
            OPEN_PREDICTIONS.enter()
        try:
            with contextlib.suppress(_TooLarge):
                await self.app(scope, limited_receive, tracking_send)
        finally:
            if counted:
                OPEN_PREDICTIONS.leave()
        if refused:
            await self._refuse(send, None)


class _TooLarge(Exception):
    pass


_UNSUPPORTED = json.dumps(
    {
        "error": "unsupported_media_type",
        "message": "request bodies must be JSON",
        "fix": "send Content-Type: application/json",
    }
).encode()


def _unauthorized(path: str, *, configured: bool = True) -> bytes:
    if configured:
        message = f"{path} needs this service's token"
        fix = "send the header Authorization: Bearer <token>, the token being the service's NB2PROD_SERVICE_TOKEN"
    else:
        message = f"{path} needs this service's token, and this service was started without one"
        fix = "start it with NB2PROD_SERVICE_TOKEN set (`nb2prod serve` uses the workspace's <home>/service-token)"
    return json.dumps({"error": "unauthorized", "message": message, "fix": fix}).encode()


# BentoML answers a body that fails its input model with {"error": "N validation error(s) for X", "detail": [...]}.
_PYDANTIC_TITLE = re.compile(r"^\d+ validation errors? for ")
_PLAIN = {
    "extra_forbidden": "unknown field (not part of this endpoint; check the spelling)",
    "missing": "required",
}


def _where(loc: Any) -> str:
    return ".".join(str(p) for p in loc) if isinstance(loc, list | tuple) and loc else "body"


def readable_validation_error(body: bytes, *, limit: int = 5) -> bytes:
    """Rewrite BentoML's validation 400 as ``{"error", "message", "fix", "detail"}``; any other 400 is kept as is.

    ``message`` is one line naming each bad field and what it expects
    (``features.age: Input should be a valid integer; explain: Input should be a valid boolean``);
    ``detail`` keeps pydantic's structured list (``loc``, ``msg``, ``type``) for programs.
    """
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    if not (isinstance(parsed, dict) and isinstance(parsed.get("detail"), list) and _PYDANTIC_TITLE.match(str(parsed.get("error", "")))):
        return body
    detail = [d for d in parsed["detail"] if isinstance(d, dict)]
    parts = [f"{_where(d.get('loc'))}: {_PLAIN.get(str(d.get('type')), str(d.get('msg', 'invalid')))}" for d in detail[:limit]]
    more = len(detail) - limit
    message = "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
    return json.dumps(
        {
            "error": "invalid_input",
            "message": message or "the request body does not match the endpoint's schema",
            "fix": "send the fields the service's OpenAPI document (/docs.json) describes, with those types",
            "detail": detail,
        }
    ).encode()


class _OneLineValidationErrors(logging.Filter):
    """BentoML logs a full traceback (~2 KB) for every request that fails validation: keep one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ == "ValidationError":
            path = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg, record.args = "400 invalid request body on %s (%s error(s))", (path, getattr(exc, "error_count", lambda: "?")())
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_FILTER = _OneLineValidationErrors()


def quiet_validation_tracebacks() -> None:
    """Install the one-line filter on BentoML's HTTP app logger (idempotent)."""
    logger = logging.getLogger("bentoml._internal.server.http_app")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"]+/)+([^\s/'\"]+)")


def public_status(value: Any) -> Any:
    """``value`` with every absolute path cut to its last part: /status tells state, not the host's layout."""
    if isinstance(value, str):
        return _ABSOLUTE_PATH.sub(lambda m: m.group(1), value)
    if isinstance(value, dict):
        return {k: public_status(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [public_status(v) for v in value]
    return value
