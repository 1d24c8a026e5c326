"""The JSON Schema of every REST answer, generated from the records the handlers send.

The TypeScript types of the JupyterLab panels (``extension/src/generated/models.ts``) are
generated from this schema, so a field added to a record reaches the panels' types by
regenerating, and a test fails while the committed copy is stale. Regenerate both with
``./dev types``; ``python -m nb2prod.server.schema [FILE]`` prints (or writes) the schema alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["ANSWERS", "ROOTS", "rest_schema", "rest_schema_text"]

# The record each handler answers with (its ``to_dict()``), by handler; everything it contains follows.
# A new route names its answer here, or tests/server/test_rest_schema.py fails.
ANSWERS = {
    "LintHandler": "LintReport",
    "DeploymentsHandler": "DeploymentList",
    "DeploymentHandler": "DeploymentStatus",
    "TrafficHandler": "DeploymentStatus",  # promote / rollback / canary answer the deployment as it is now
    "MonitorHandler": "MonitorView",
    "DriftSeriesHandler": "DriftSeries",
    "ShadowHandler": "ShadowComparison",
    "DashboardHandler": "Dashboard",
    "AlertsHandler": "AlertList",
    "InfoHandler": "WorkspaceInfo",
}
ROOTS = tuple(dict.fromkeys(ANSWERS.values()))

def _roots() -> list[type]:
    import nb2prod.models as models
    import nb2prod.server.payloads as payloads

    return [getattr(payloads, name, None) or getattr(models, name) for name in ROOTS]


def _tidy(node: Any, *, in_properties: bool = False) -> Any:
    """Drop pydantic's per-field titles and defaults: a field's title would become a TypeScript alias of its own."""
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    if not isinstance(node, dict):
        return node
    if in_properties:
        return {k: _tidy(v) for k, v in node.items()}
    return {k: _tidy(v, in_properties=(k == "properties")) for k, v in node.items() if k not in {"title", "default"}}


def rest_schema() -> dict[str, Any]:
    """One JSON Schema document: a ``$defs`` entry per record, the REST answers as the root's ``anyOf``.

    Every record's ``to_dict()`` writes every field, so every property is required, and no
    other property appears (``additionalProperties: false``): the schema states the exact shape.
    """
    from pydantic import TypeAdapter  # heavy: only when the schema is asked for

    roots = _roots()
    refs, document = TypeAdapter.json_schemas(
        [(cls.__name__, "serialization", TypeAdapter(cls)) for cls in roots], ref_template="#/$defs/{model}"
    )
    defs: dict[str, Any] = {}
    for name, definition in sorted(document.get("$defs", {}).items()):
        title = definition.get("title", name)
        definition = _tidy(definition)
        definition["title"] = title
        if definition.get("type") == "object" and "properties" in definition:
            definition["required"] = list(definition["properties"])
            definition["additionalProperties"] = False
        defs[name] = definition
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "RestAnswer",
        "description": "Any answer of the nb2prod REST API (generated from nb2prod's records: do not edit).",
        "anyOf": [refs[(cls.__name__, "serialization")] for cls in roots],
        "$defs": defs,
    }


def rest_schema_text() -> str:
    """The schema as the committed snapshot holds it: fields in declaration order, records by name, two-space indent."""
    return json.dumps(rest_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = rest_schema_text()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
