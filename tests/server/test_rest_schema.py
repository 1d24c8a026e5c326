"""The REST payloads' JSON Schema: the committed copy and the panels' TypeScript types are current, and every route answers what it says."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from panel_seed import write_notebook

from nb2prod.api import Workspace
from nb2prod.models import AuditEvent
from nb2prod.server.handlers import routes
from nb2prod.server.schema import ANSWERS, ROOTS, rest_schema, rest_schema_text

EXTENSION = Path(__file__).resolve().parents[2] / "extension"
SCHEMA = EXTENSION / "src" / "generated" / "rest.schema.json"
TYPES = EXTENSION / "src" / "generated" / "models.ts"
REGENERATE = "the REST types are stale: run `./dev types` and commit extension/src/generated/"


def test_committed_schema_is_the_live_one() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == rest_schema_text(), REGENERATE


def test_committed_types_were_generated_from_the_committed_schema() -> None:
    banner = re.search(r"schema sha256: ([0-9a-f]{64})", TYPES.read_text(encoding="utf-8"))
    assert banner is not None, REGENERATE
    assert banner.group(1) == hashlib.sha256(SCHEMA.read_bytes()).hexdigest(), REGENERATE


def test_committed_types_are_what_the_generator_writes(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (EXTENSION / "node_modules" / "json-schema-to-typescript").is_dir():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI=true but node or extension/node_modules is missing: build the extension first (./dev test does)")
        pytest.skip("needs node and the extension's node_modules (built by ./dev test)")
    out = tmp_path / "models.ts"
    subprocess.run([node, str(EXTENSION / "scripts" / "types.mjs"), str(out)], check=True, cwd=EXTENSION, timeout=120)
    assert out.read_text(encoding="utf-8") == TYPES.read_text(encoding="utf-8"), REGENERATE


def test_every_route_names_the_record_it_answers() -> None:
    assert {handler.__name__ for _, handler in routes()} == set(ANSWERS), "add the new route's answer to nb2prod.server.schema.ANSWERS"


def test_every_record_is_exact_and_every_field_required() -> None:
    defs = rest_schema()["$defs"]
    assert set(ROOTS) <= set(defs)
    records = [d for d in defs.values() if d.get("type") == "object" and "properties" in d]
    assert len(records) > 30
    for definition in records:
        assert definition["required"] == list(definition["properties"]) and definition["additionalProperties"] is False


# -- every route's answer against its schema --------------------------------------------------
def _validator(root: str) -> jsonschema.Draft202012Validator:
    document = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{root}", "$defs": document["$defs"]})


async def _answer(jp_fetch: Any, root: str, *parts: str, **kwargs: Any) -> dict[str, Any]:
    response = await jp_fetch("nb2prod", "api", *parts, **kwargs)
    body: dict[str, Any] = json.loads(response.body)
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in _validator(root).iter_errors(body)]
    assert not errors, f"GET {'/'.join(parts)} does not match {root}: " + "; ".join(errors[:5])
    return body


async def test_every_route_answers_its_schema(jp_fetch: Any, jp_root_dir: Path, monitored: Workspace) -> None:
    write_notebook(jp_root_dir / "demo.ipynb")
    assert (await _answer(jp_fetch, "LintReport", "lint", params={"path": "demo.ipynb"}))["findings"]
    assert (await _answer(jp_fetch, "DeploymentList", "deployments"))["deployments"]
    assert (await _answer(jp_fetch, "DeploymentStatus", "deployments", "credit"))["events"]
    monitor = await _answer(jp_fetch, "MonitorView", "deployments", "monitored", "monitor", params={"window": "1d"})
    assert monitor["drift"] is not None and monitor["judgements"]
    assert (await _answer(jp_fetch, "DriftSeries", "deployments", "monitored", "drift", params={"window": "1d"}))["series"]
    assert (await _answer(jp_fetch, "AlertList", "alerts"))["alerts"]
    assert (await _answer(jp_fetch, "WorkspaceInfo", "info"))["deployments"]
    canary = json.dumps({"version": "credit-v1", "percent": 10})
    moved = await _answer(jp_fetch, "DeploymentStatus", "deployments", "credit", "canary", method="POST", body=canary)
    assert moved["traffic"]["canary"] == "credit-v1"
    stopped = await _answer(jp_fetch, "DeploymentStatus", "deployments", "credit", "rollback", method="POST", body=json.dumps({"reason": "test"}))
    assert stopped["traffic"]["canary"] is None
    # a shadow version with traffic, so the comparison and the dashboard's shadow part are filled in
    monitored.shadow("credit:credit-v1", actor="ana")
    now = time.time()
    monitored.store.audit.write([
        AuditEvent(request_id=f"s{i}", name="credit", version_id="credit-v2", ts=now - 100 + i, inputs={"region": "north" if i % 2 else "south"},
                   output=i % 2, score=0.3 + 0.4 * (i % 2), shadow_version="credit-v1", shadow_output=i % 2, shadow_score=0.32 + 0.4 * (i % 2))
        for i in range(60)
    ])
    assert (await _answer(jp_fetch, "ShadowComparison", "deployments", "credit", "shadow", params={"window": "1h"}))["overall"]["n"] == 60
    dashboard = await _answer(jp_fetch, "Dashboard", "deployments", "credit", "dashboard", params={"window": "1h"})
    assert dashboard["shadow"] is not None and dashboard["versions"]
    assert (await _answer(jp_fetch, "Dashboard", "deployments", "monitored", "dashboard", params={"window": "1d"}))["drift_series"]
