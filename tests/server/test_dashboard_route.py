"""``GET deployments/NAME/dashboard``: one answer per dashboard refresh, for one explicit version."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import tornado.httpclient

from nb2prod.api import Workspace
from nb2prod.models import AuditEvent
from nb2prod.server.dashboard import points_for_window


async def _get(jp_fetch: Any, name: str, **params: str) -> Any:
    response = await jp_fetch("nb2prod", "api", "deployments", name, "dashboard", params=params)
    assert response.code == 200
    return json.loads(response.body)


def test_bucket_count_follows_the_window() -> None:
    assert [points_for_window(w) for w in ("15m", "1h", "6h", "1d", "7d", "all")] == [15, 12, 24, 24, 28, 24]


async def test_dashboard_answers_everything_for_one_version_with_a_day_in_hourly_buckets(jp_fetch: Any, monitored: Workspace) -> None:
    body = await _get(jp_fetch, "monitored", window="1d")
    assert (body["version_id"], body["state"], body["points"]) == ("monitored-v1", "live", 24)
    assert body["monitor"]["version_id"] == "monitored-v1" and body["monitor"]["n"] == 600
    assert len(body["monitor"]["drift_timeline"]) == 24 and len(body["monitor"]["operations"]["timeline"]) == 24
    assert len(body["drift_series"]) > 1, "a day of traffic must give more than one drift point"
    assert all(s["n_current"] >= 30 for s in body["drift_series"])
    assert [v["version_id"] for v in body["versions"]] == ["monitored-v1"] and body["versions"][0]["n"] == 600
    assert [a["rule"] for a in body["alerts"]] == ["drift"]
    assert body["shadow"] is None and body["server_ms"] > 0


async def test_dashboard_counts_each_versions_rows_apart(jp_fetch: Any, monitored: Workspace) -> None:
    from panel_seed import version_record

    from nb2prod.models import VersionState

    monitored.store.registry.add_version(version_record("monitored", 2, None, auc=0.81), state=VersionState.CANDIDATE)
    now = time.time()
    monitored.store.audit.write([
        AuditEvent(request_id=f"c{i}", name="monitored", version_id="monitored-v2", ts=now - i, inputs={"income": 1.0}, output=1, score=0.7)
        for i in range(7)
    ])
    body = await _get(jp_fetch, "monitored", window="1d", version="monitored-v2")
    assert (body["version_id"], body["state"]) == ("monitored-v2", "candidate")
    counts = {v["version_id"]: v["n"] for v in body["versions"]}
    assert counts == {"monitored-v1": 600, "monitored-v2": 7}


@pytest.mark.parametrize(
    ("name", "params", "status"),
    [("monitored", {"window": "forever"}, 400), ("monitored", {"points": "-3"}, 400), ("monitored", {"version": "monitored:v1"}, 400),
     ("monitored", {"version": "nosuch"}, 404), ("nosuch", {}, 404)],
)
async def test_dashboard_mistakes_are_4xx(jp_fetch: Any, monitored: Workspace, name: str, params: dict[str, str], status: int) -> None:
    with pytest.raises(tornado.httpclient.HTTPClientError) as err:
        await jp_fetch("nb2prod", "api", "deployments", name, "dashboard", params=params)
    assert err.value.code == status
    assert json.loads(err.value.response.body)["message"]  # type: ignore[union-attr]


async def test_monitor_and_drift_routes_pick_the_bucket_count_from_the_window(jp_fetch: Any, monitored: Workspace) -> None:
    monitor = json.loads((await jp_fetch("nb2prod", "api", "deployments", "monitored", "monitor", params={"window": "1d"})).body)
    assert len(monitor["drift_timeline"]) == 24
    drift = json.loads((await jp_fetch("nb2prod", "api", "deployments", "monitored", "drift", params={"window": "1d"})).body)
    assert 1 < len(drift["series"]) <= 24 and all(s["n_current"] >= 30 for s in drift["series"])


async def test_monitor_route_carries_the_shared_judgements(jp_fetch: Any, monitored: Workspace) -> None:
    body = json.loads((await jp_fetch("nb2prod", "api", "deployments", "monitored", "monitor", params={"window": "1d"})).body)
    dash = await _get(jp_fetch, "monitored", window="1d")
    assert body["judgements"] == dash["judgements"]
    assert body["judgements"]["drift"]["state"] == "firing" and body["judgements"]["drift"]["n"] == 600
