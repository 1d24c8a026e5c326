"""After a redeploy, every statistic a panel shows is the selected version's alone: the REST payloads
the Drift side panel (monitor, drift series), the dashboard and the widget read never mix in the
rows or profiles of the other version answering in the same window."""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

from nb2prod.api import Workspace
from nb2prod.models import AuditEvent, RegistryEvent, Traffic, VersionState


def _redeploy(ws: Workspace, n_rows: int = 45) -> None:
    """``monitored-v2`` goes live over v1 and answers ``n_rows`` requests, all slower (40 ms vs v1's 5 ms) and all answering 1."""
    from panel_seed import version_record

    home = ws.settings.home
    old, new = home / "deployments" / "monitored" / "monitored-v1", home / "deployments" / "monitored" / "monitored-v2"
    shutil.copytree(old, new)
    spec = json.loads((new / "deployment.json").read_text())
    (new / "deployment.json").write_text(json.dumps({**spec, "version_id": "monitored-v2"}))
    ws.store.registry.add_version(version_record("monitored", 2, new, auc=0.81), state=VersionState.LIVE)
    ws.store.registry.set_traffic(Traffic(name="monitored", live="monitored-v2"),
                                  RegistryEvent(name="monitored", action="deploy", version_id="monitored-v2", actor="ana", reason="retrained"))
    [template] = ws.store.audit.predictions("monitored", limit=1)
    now = time.time()
    ws.store.audit.write([
        AuditEvent(request_id=f"v2-{i}", name="monitored", version_id="monitored-v2", ts=now - 60 - i * 30, inputs=template.inputs,
                   output=1, score=0.9, latency_ms=40.0)
        for i in range(n_rows)
    ])


async def _json(jp_fetch: Any, *path: str, **params: str) -> Any:
    response = await jp_fetch("nb2prod", "api", *path, params=params)
    assert response.code == 200
    return json.loads(response.body)


def _only(report: dict[str, Any], version: str, n: int, latency_ms: float, labelled: int) -> None:
    assert report["version_id"] == version and report["n"] == n
    assert report["concept"] is None or report["concept"]["n_labelled"] == labelled, report["concept"]
    overall = report["operations"]["overall"]
    assert overall["n"] == n and overall["latency_p95_ms"] == latency_ms, overall
    assert sum(w["n"] for w in report["operations"]["timeline"]) == n
    if report["drift"] is not None:
        assert report["drift"]["version_id"] == version and report["drift"]["n_current"] == n
    assert sum(w["n"] for w in report["drift_timeline"]) == n
    if report["estimated"] is not None:  # no calibration in these folders: no estimate, never the other version's rows
        assert sum(w["n"] for w in report["estimated"]["windows"]) in (0, n)


async def test_every_payload_a_panel_reads_holds_the_selected_versions_rows_only(jp_fetch: Any, monitored: Workspace) -> None:
    _redeploy(monitored)
    # v1's labels stay v1's: half its 600 rows were labelled, none of v2's
    # the Drift side panel: the live version (now v2) — its 45 rows, none of v1's 600
    _only(await _json(jp_fetch, "deployments", "monitored", "monitor", window="1d"), "monitored-v2", 45, 40.0, 0)
    series = await _json(jp_fetch, "deployments", "monitored", "drift", window="1d")
    assert sum(s["n_current"] for s in series["series"]) <= 45
    # the dashboard on the live version, then on the retired one: each its own rows
    live = await _json(jp_fetch, "deployments", "monitored", "dashboard", window="1d")
    assert live["version_id"] == "monitored-v2"
    _only(live["monitor"], "monitored-v2", 45, 40.0, 0)
    assert {v["version_id"]: v["n"] for v in live["versions"]} == {"monitored-v1": 600, "monitored-v2": 45}
    old = await _json(jp_fetch, "deployments", "monitored", "dashboard", window="1d", version="monitored-v1")
    assert old["version_id"] == "monitored-v1"
    _only(old["monitor"], "monitored-v1", 600, 5.0, 300)
    assert sum(s["n_current"] for s in old["drift_series"]) <= 600 and len(old["drift_series"]) > 1
    assert old["judgements"]["drift"]["n"] == 600 and live["judgements"]["drift"]["n"] == 45
