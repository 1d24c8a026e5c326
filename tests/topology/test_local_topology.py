"""The cluster's shape on one machine, for real: replicas behind nginx, PostgreSQL as the shared store.

One topology for the module (starting the replicas is the expensive part): the example credit
model's live version with two replicas, a canary at 10 % and a shadow at 100 % behind nginx, all
writing to PostgreSQL. The tests run in order against it:

1. the gateway's split lands ≈ 10 % on the canary (binomial test at 99.9 %), and the mirrored
   shadow is compared with the live answers by the gateway's request id;
2. a canary that starts failing is rolled back once — by one of the replicas' canary checks,
   under the store's lease — and the gateway stops routing to it;
3. SIGKILL of one live replica under load loses no acknowledged audit row, and the gateway keeps
   answering from the other replica.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from nb2prod.api import Workspace
from nb2prod.models import VersionRecord
from nb2prod.store import Store

pytestmark = [pytest.mark.postgres, pytest.mark.gateway, pytest.mark.slow]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    import json

    from nb2prod.examples.credit import TARGET, make_credit_data

    data = make_credit_data(2000, seed=7).drop(columns=[TARGET]).head(1600)
    return list(json.loads(data.to_json(orient="records")))


@pytest.fixture(scope="module")
def topo(
    nginx: str, pg_store_url: str, credit_versions: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    url = pg_store_url
    name, ids, folders = credit_versions["name"], credit_versions["ids"], credit_versions["folders"]
    home = tmp_path_factory.mktemp("topology-home")
    ws = Workspace.open(home, env={"NB2PROD_STORE_URL": url})
    for i, (arm, version_id) in enumerate(ids.items()):
        ws.store.registry.add_version(VersionRecord(
            version_id=version_id, name=name, created_at=f"2026-12-0{i + 1}T00:00:00", model_hash=version_id,
            deployment_dir=str(folders[arm]), extra={"protected": ["gender"]},
        ))  # fmt: skip
    ws.promote(f"{name}:{ids['live']}", actor="test")
    ws.canary(f"{name}:{ids['canary']}", 10, actor="test")
    ws.shadow(f"{name}:{ids['shadow']}", percent=100, actor="test")
    topology = ws.serve_topology(name, replicas=2, protect_predict=True, require_postgres=True, timeout_s=300)
    stop = threading.Event()
    watcher = threading.Thread(target=topology.watch, args=(stop, 0.5), name="topology-watch", daemon=True)
    watcher.start()
    token = ws.service_token()
    assert token
    client = httpx.Client(base_url=topology.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    try:
        yield {"ws": ws, "topology": topology, "name": name, "ids": ids, "folders": folders, "url": url, "client": client}
    finally:
        client.close()
        stop.set()
        watcher.join(60)
        topology.stop()
        ws.close()


def _load(client: httpx.Client, rows: list[dict[str, Any]], n: int, *, concurrency: int = 6,
          after: tuple[int, Callable[[], None]] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """``n`` predictions through the gateway, ``concurrency`` at a time; ``after=(k, f)`` calls ``f`` once ``k`` have answered."""
    done = 0
    lock = threading.Lock()
    fired = threading.Event()

    def one(i: int) -> tuple[int, dict[str, Any]]:
        nonlocal done
        try:
            response = client.post("/predict", json={"features": rows[i % len(rows)]})
            result = (response.status_code, response.json() if response.headers.get("content-type", "").startswith("application/json") else {})
        except httpx.HTTPError as exc:
            result = (0, {"error": str(exc)})
        with lock:
            done += 1
            due = after is not None and done >= after[0] and not fired.is_set()
            if due:
                fired.set()
        if due and after is not None:
            after[1]()
        return result

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, range(n)))


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    assert predicate(), f"not within {timeout:.0f} s: {what}"


def _missing(url: str, request_ids: list[str]) -> list[str]:
    with Store.open(url) as store:
        return [r for r in request_ids if not store.audit.exists(r)]


def test_canary_weight_and_mirrored_shadow_compared_by_request_id(topo: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    client, ids = topo["client"], topo["ids"]
    refused = httpx.post(f"{topo['topology'].url}/predict", json={"features": rows[0]}, timeout=30)
    assert refused.status_code == 401 and "token" in refused.json()["error"]  # the edge checks the token
    assert httpx.get(f"{topo['topology'].url}/readyz", timeout=30).status_code == 200  # probes stay open

    n = 600
    answers = _load(client, rows, n)
    assert [s for s, _ in answers if s != 200] == []
    by_version = Counter(a["version_id"] for _, a in answers)
    assert set(by_version) <= {ids["live"], ids["canary"]}
    from scipy.stats import binomtest

    landed = by_version[ids["canary"]]
    assert binomtest(landed, n, 0.10).pvalue > 0.001, f"{landed} of {n} requests on the 10 % canary"

    request_ids = [a["request_id"] for _, a in answers]
    _wait(lambda: not _missing(topo["url"], request_ids), 60, "every answered request in the store")
    with Store.open(topo["url"]) as store:
        stored = {r: store.audit.get(r) for r in request_ids}
    assert all(e.client_request_id for e in stored.values())  # the gateway's X-Request-Id, kept as the correlation id
    assert Counter(e.arm for e in stored.values()) == Counter({"live": by_version[ids["live"]], "canary": landed})

    live_answers = by_version[ids["live"]]  # the gateway mirrors every live request (shadow at 100 %)
    ws = topo["ws"]
    _wait(lambda: ws.compare(topo["name"]).shadowed >= 0.97 * live_answers, 60, "the mirrored rows in the store")
    comparison = ws.compare(topo["name"])
    assert comparison.candidate_version == ids["shadow"]
    assert 0.97 * live_answers <= comparison.shadowed <= live_answers
    assert comparison.overall.n == comparison.shadowed  # every mirrored copy answered by the shadow's own model
    assert comparison.overall.agreement == 1.0  # the shadow is the live model under another id


def test_a_failing_canary_is_rolled_back_once_and_leaves_the_gateway(topo: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    client, ids, name, ws, topology = topo["client"], topo["ids"], topo["name"], topo["ws"], topo["topology"]
    (topo["folders"]["canary"] / "FAULT").write_text("raise")
    deadline = time.monotonic() + 120
    while ws.store.registry.traffic(name).canary is not None and time.monotonic() < deadline:
        _load(client, rows, 40)
    assert ws.store.registry.traffic(name).canary is None, "the failing canary was not rolled back"
    time.sleep(2)  # every replica's canary check has had several turns meanwhile
    rollbacks = [e for e in ws.store.registry.events(name, limit=200) if e.action == "rollback"]
    assert len(rollbacks) == 1, [(e.actor, e.reason) for e in rollbacks]
    assert rollbacks[0].actor == "nb2prod-service" and ids["canary"] in rollbacks[0].reason

    _wait(lambda: topology.plan is not None and [b.arm for b in topology.plan.backends] == ["live"] and not topology.replicas_of(ids["canary"]),
          60, "the gateway re-rendered without the canary")
    assert ids["canary"] not in topology.files.conf.read_text()
    after = _load(client, rows, 100)
    assert {a["version_id"] for _, a in after} == {ids["live"]} and all(s == 200 for s, _ in after)


def test_killing_a_live_replica_loses_no_acknowledged_row(topo: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    client, ids, topology = topo["client"], topo["ids"], topo["topology"]
    replicas = topology.replicas_of(ids["live"])
    assert len(replicas) == 2 and all(r.alive() for r in replicas)
    victim = replicas[0]
    restarts = topology.restarts

    answers = _load(client, rows, 500, after=(100, victim.kill))
    assert not victim.alive()
    ok = [a for s, a in answers if s == 200]
    failed = len(answers) - len(ok)
    assert failed == 0, [a for s, a in answers if s != 200][:3]  # the gateway passed the dead replica's requests to the other one
    assert {a["version_id"] for a in ok} == {ids["live"]}

    _wait(lambda: topology.restarts > restarts, 60, "the supervisor replaced the dead replica")
    missing = _missing(topo["url"], [a["request_id"] for a in ok])
    if missing:  # rows of the survivor still in flight to the store
        _wait(lambda: not _missing(topo["url"], missing), 60, f"{len(missing)} answered rows in the store")
