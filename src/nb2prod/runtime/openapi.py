"""The generated service's OpenAPI document, made to describe what the service really answers.

BentoML derives the document from the endpoint models but drops what OpenAPI 3.0 needs for typed
clients: optional fields that may be ``null`` lose ``nullable``, its error schema says ``detail``
is a string (the service's 400 carries a list), request bodies are not marked required, and the
statuses the service's guard and runtime answer (401, 409, 413, 415, 422, 503) are missing. This
module rewrites the document once; :class:`~nb2prod.runtime.asgi.RequestGuard` serves it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

__all__ = ["ERROR_SCHEMA", "describe_service"]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "Every error the service answers: a code, one readable line, how to fix it.",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a stable code (invalid_input, unauthorized, not_found, …)"},
        "message": {"type": "string", "description": "one line naming what is wrong (each bad field, for a 400)"},
        "fix": {"type": "string", "nullable": True, "description": "what to change"},
        "detail": {
            "type": "array",
            "description": "a 400's structured validation errors (loc, msg, type per bad field)",
            "items": {"type": "object", "additionalProperties": True},
        },
        "retry_after_s": {"type": "number", "nullable": True, "description": "503: seconds to wait before retrying"},
    },
    "additionalProperties": True,
}

_STATUSES = {
    "400": "Bad Request: the body does not match the schema (each bad field named)",
    "404": "Not Found: no prediction with that request_id",
    "409": "Conflict: the request clashes with the service's state",
    "413": "Payload Too Large: the body exceeds the service's limit",
    "415": "Unsupported Media Type: the body is not JSON",
    "422": "Unprocessable Entity: well-formed but not acceptable (e.g. feedback without a label or an outcome)",
    "500": "Internal Server Error (a model failure is answered by the fallback, never a 500)",
    "503": "Service Unavailable: overloaded (Retry-After) or shutting down",
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _nullable(node: Any) -> Any:
    """Mark every property that may be ``null`` as ``nullable`` (OpenAPI 3.0 has no ``type: null``)."""
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable(v) for k, v in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and any(o == {"type": "null"} for o in options):
        rest = [o for o in options if o != {"type": "null"}]
        del node["anyOf"]
        if len(rest) == 1 and isinstance(rest[0], dict):
            node = {**rest[0], **node}
        else:
            node["anyOf"] = rest
        node["nullable"] = True
    if "default" in node and node["default"] is None and ("type" in node or "anyOf" in node or "$ref" in node or "enum" in node):
        node["nullable"] = True
    if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]  # a nullable enum lists null among its values (OpenAPI 3.0.3)
    return node


def _has_required_fields(body: dict[str, Any], doc: dict[str, Any]) -> bool:
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        schema = doc.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return bool(schema.get("required"))


def describe_service(document: dict[str, Any], *, protected: Iterable[str]) -> dict[str, Any]:
    """A corrected copy of BentoML's OpenAPI ``document`` for a service guarding ``protected`` routes."""
    doc = _nullable(copy.deepcopy(document))
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "the service token (NB2PROD_SERVICE_TOKEN; `nb2prod serve` uses <home>/service-token)",
    }
    guarded = set(protected)
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method.lower() != "post":
                continue
            body = operation.get("requestBody")
            if isinstance(body, dict) and _has_required_fields(body, doc):
                body["required"] = True  # an empty body is a 400: say so (an endpoint without fields takes none)
            responses = operation.setdefault("responses", {})
            for status, description in _STATUSES.items():
                responses[status] = _error_response(description)
            responses["503"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
            if path in guarded:
                operation["security"] = [{"bearer": []}]
                responses["401"] = _error_response("Unauthorized: send Authorization: Bearer <the service token>")
                responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return doc
