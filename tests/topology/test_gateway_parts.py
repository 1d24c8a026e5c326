"""The local topology's pure parts: the nginx configuration from a route plan, gateway mode's arm and ids, the mirror join."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nb2prod.errors import ServiceError
from nb2prod.models import AuditEvent, Traffic, VersionRecord
from nb2prod.package.topology import NginxFiles, render_nginx
from nb2prod.rollout.compare import compare_shadow
from nb2prod.rollout.mirror import pair_mirrored
from nb2prod.rollout.route_plan import route_plan
from nb2prod.runtime.gateway import GatewayHeaders, GatewayRequest, current_request, gateway_arm, gateway_mode, gateway_routes

VERSIONS = [VersionRecord(version_id=v, name="credit", created_at="2026-12-01T00:00:00", model_hash=v) for v in ("credit-v1", "credit-v2", "credit-v3")]


def _conf(tmp_path: Path, traffic: Traffic, **kwargs: object) -> str:
    ports = {"credit-v1": [9001, 9002], "credit-v2": [9003], "credit-v3": [9004]}
    return render_nginx(route_plan(traffic, VERSIONS), ports, port=9000, files=NginxFiles(tmp_path), **kwargs)  # type: ignore[arg-type]


def test_weights_mirror_headers_and_replicas_in_the_configuration(tmp_path: Path) -> None:
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=12.5, shadow="credit-v3", shadow_percent=40)
    conf = _conf(tmp_path, traffic)
    assert "server 127.0.0.1:9001" in conf and "server 127.0.0.1:9002" in conf  # both live replicas in one upstream
    assert "87.5% nb2prod_credit_v1;" in conf and "* nb2prod_credit_v2;" in conf  # the canary's weight, split on $request_id
    assert '"nb2prod_credit_v1:1" 1;' in conf and "40% 1;" in conf  # only live requests, 40 % of them, are mirrored
    assert "proxy_pass http://nb2prod_credit_v3$request_uri;" in conf and "X-Nb2prod-Mirror 1;" in conf
    assert 'proxy_set_header X-Nb2prod-Mirror "";' in conf  # a client cannot mark its own request as a mirror
    assert "proxy_set_header X-Request-Id $request_id;" in conf
    assert "proxy_next_upstream error timeout http_502 non_idempotent;" in conf
    assert "nb2prod_authorized" not in conf  # /predict is open unless protected


def test_live_only_configuration_has_no_mirror_and_a_protected_predict(tmp_path: Path) -> None:
    conf = _conf(tmp_path, Traffic(name="credit", live="credit-v1"), token="s3cret", protect_predict=True)
    assert "mirror /_nb2prod_mirror;" not in conf and "_nb2prod_mirror {" not in conf
    assert "* nb2prod_credit_v1;" in conf
    assert '"Bearer s3cret" 1;' in conf and "return 401" in conf
    assert "location / {" in conf  # probes and the other routes go to the live version, unprotected


def test_a_plan_naming_a_version_without_replicas_is_refused(tmp_path: Path) -> None:
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10)
    with pytest.raises(ServiceError, match="no running replica for credit-v2"):
        render_nginx(route_plan(traffic, VERSIONS), {"credit-v1": [9001]}, port=9000, files=NginxFiles(tmp_path))


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    from nb2prod.errors import NotFoundError
    from nb2prod.package.topology import find_nginx
    from nb2prod.package.topology.nginx import nginx_check

    try:
        binary = find_nginx()
    except NotFoundError as exc:
        pytest.skip(str(exc))
    files = NginxFiles(tmp_path)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10, shadow="credit-v3", shadow_percent=50)
    files.conf.write_text(_conf(tmp_path, traffic, token='to"ken' + "x" * 60, protect_predict=True))  # longer than a workspace token
    nginx_check(binary, files)
    files.conf.write_text("http { nonsense; }")
    with pytest.raises(ServiceError, match="nginx refused"):
        nginx_check(binary, files)
    assert subprocess.run([binary, "-v"], capture_output=True).returncode == 0


def test_gateway_mode_arm_and_correlation_ids() -> None:
    assert gateway_mode({"NB2PROD_ROUTING": "gateway"}) and not gateway_mode({}) and not gateway_mode({"NB2PROD_ROUTING": "process"})
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10, control="credit-v0", control_percent=5)
    assert gateway_arm(traffic, "credit-v1", False) == "live"
    assert gateway_arm(traffic, "credit-v2", False) == "canary"
    assert gateway_arm(traffic, "credit-v0", False) == "control"
    assert gateway_arm(traffic, "credit-v2", True) == "shadow"  # a mirrored copy, whatever the version's place
    routes, ids = gateway_routes(traffic, "credit-v2", 1, GatewayRequest("abc123", False))
    assert [(r.arm, r.version_id, r.shadow_version) for r in routes] == [("canary", "credit-v2", None)] and ids == ["abc123"]
    _, batch = gateway_routes(traffic, "credit-v1", 3, GatewayRequest("abc123", False))
    assert batch == ["abc123/0", "abc123/1", "abc123/2"]
    _, none = gateway_routes(traffic, "credit-v1", 1, GatewayRequest(None, False))
    assert none is None


@pytest.mark.asyncio
async def test_the_middleware_reads_the_gateway_headers_for_the_request_only() -> None:
    seen: list[GatewayRequest | None] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(current_request())

    middleware = GatewayHeaders(app)
    headers = [(b"x-request-id", b"0f3c9a"), (b"x-nb2prod-mirror", b"1")]
    await middleware({"type": "http", "headers": headers}, None, None)
    await middleware({"type": "http", "headers": [(b"x-request-id", b"bad id; drop table")]}, None, None)
    await middleware({"type": "lifespan"}, None, None)
    assert seen == [GatewayRequest("0f3c9a", True), GatewayRequest(None, False), None]
    assert current_request() is None


def _event(request_id: str, version: str, arm: str, gid: str | None, output: int, **kw: object) -> AuditEvent:
    return AuditEvent(request_id=request_id, name="credit", version_id=version, ts=float(len(request_id)), inputs={"gender": "f"},
                      output=output, score=0.1 * output, arm=arm, client_request_id=gid, **kw)  # type: ignore[arg-type]


def test_mirrored_rows_pair_with_live_rows_by_gateway_request_id() -> None:
    events = [
        _event("a1", "credit-v1", "live", "g1", 1),
        _event("m1", "credit-v3", "shadow", "g1", 1),
        _event("a2", "credit-v1", "live", "g2", 0),
        _event("m2", "credit-v3", "shadow", "g2", 1),
        _event("a3", "credit-v1", "live", "g3", 0),  # not mirrored (sampled out)
        _event("c4", "credit-v2", "canary", "g4", 1),  # the gateway mirrors live requests only
        _event("m5", "credit-v3", "shadow", "g5", 1, error="model failed", fallback=True),
        _event("a5", "credit-v1", "live", "g5", 1),
        _event("m6", "credit-v3", "shadow", "g6", 0, fallback=True, fallback_reason="timeout: no model answer within 250 ms"),
        _event("a6", "credit-v1", "live", "g6", 0),
    ]
    pairs = {e.request_id: e for e in pair_mirrored(events, "credit-v3")}
    assert set(pairs) == {"a1", "a2", "a5", "a6"}
    assert pairs["a1"].shadow_version == "credit-v3" and pairs["a1"].shadow_output == 1 and pairs["a1"].shadow_score == pytest.approx(0.1)
    assert pairs["a5"].shadow_output is None and pairs["a5"].shadow_error == "model failed"
    comparison = compare_shadow(list(pairs.values()), name="credit", live_version="credit-v1", candidate_version="credit-v3")
    assert comparison.shadowed == 4 and comparison.overall.n == 2 and comparison.overall.agreement == 0.5
    assert comparison.candidate_errors == 1 and comparison.candidate_timeouts == 1
    assert comparison.flip_matrix == {"0": {"1": 1}, "1": {"1": 1}}


def test_only_the_lease_holder_among_replicas_runs_the_canary_check(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from nb2prod.models import RegistryEvent
    from nb2prod.runtime.traffic import RolloutSettings, TrafficWatcher
    from nb2prod.store import Store

    with Store.open(f"sqlite:///{tmp_path / 'nb2prod.db'}") as store:
        for record in VERSIONS:
            store.registry.add_version(record)
        store.registry.set_traffic(Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10),
                                   RegistryEvent(name="credit", action="canary", version_id="credit-v2", actor="test", reason="test"))
        handle = SimpleNamespace(get=lambda: store)
        replicas = [TrafficWatcher(SimpleNamespace(name="credit", version_id="credit-v1"), handle, RolloutSettings(), gateway=True)  # type: ignore[arg-type]
                    for _ in range(2)]
        replicas[1]._holder += ":second"  # two replicas of one version in one test process: tell them apart as pids would
        first, second = (r.check_canary() for r in replicas)
        assert first is not None and first.verdict == "insufficient"
        assert second is None  # the other replica holds the lease: this one takes no decision
        lease = store.leases.get("canary:credit")
        assert lease is not None and lease.holder == replicas[0]._holder
        assert replicas[0].check_canary() is not None  # the holder keeps deciding (its lease is extended)


def test_a_dead_replica_is_drained_then_restarted_and_a_crash_loop_backs_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import sys
    import time

    from nb2prod.package.topology import Replica, ReplicaEnv, Topology
    from nb2prod.package.topology import supervisor as sup
    from nb2prod.settings import Settings
    from nb2prod.store import Store

    settings = Settings(home=tmp_path, store_url=f"sqlite:///{tmp_path / 'nb2prod.db'}")
    with Store.open(settings.resolved_store_url) as store:
        store.registry.add_version(VERSIONS[0])
        topology = Topology(settings, store, "credit", replicas=1)
        topology._env = ReplicaEnv(store_url=settings.resolved_store_url, token="t", bentoml_home=tmp_path)
        spool = tmp_path / "spool"
        spool.mkdir()
        row = {"request_id": "r1", "name": "credit", "version_id": "credit-v1", "ts": 1.0, "inputs": {}, "output": 1, "arm": "live"}
        (spool / "host-1-1.jsonl").write_text(json.dumps(row) + "\n")  # a segment its dead writer left behind

        def dead(started_at: float) -> Replica:
            process = subprocess.Popen([sys.executable, "-c", "pass"])
            process.wait()
            return Replica("credit-v1", 0, 9001, process, tmp_path / "log", spool, started_at=started_at)

        started: list[float] = []
        monkeypatch.setattr(sup, "start_replica", lambda *a, **k: started.append(time.time()) or dead(time.time()))
        topology.pool = {"credit-v1": [dead(time.time() - 3600)]}  # ran for an hour, then died: restarted at once
        topology._replace_dead({"credit-v1": 1})
        assert len(started) == 1 and topology.restarts == 1
        assert store.audit.exists("r1")  # its spooled row reached the store before the restart
        topology._replace_dead({"credit-v1": 1})  # the new one died right after its start: wait before the next try
        assert len(started) == 1
        topology._dead_since[("credit-v1", 0)] -= 5
        topology._replace_dead({"credit-v1": 1})
        assert len(started) == 2


def test_the_canary_share_leaves_mirrored_copies_out_on_both_paths(tmp_path: Path) -> None:
    from nb2prod.rollout.canary import canary_evidence, canary_evidence_from_profiles
    from nb2prod.store import Store

    now = 1_800_000_000.0
    events = [
        *(_event(f"l{i}", "credit-v1", "live", f"g{i}", 0) for i in range(80)),
        *(_event(f"c{i}", "credit-v2", "canary", f"h{i}", 1) for i in range(20)),
        *(_event(f"m{i}", "credit-v3", "shadow", f"g{i}", 0) for i in range(80)),  # the gateway's copies of the live requests
    ]
    events = [AuditEvent(**{**e.to_dict(), "ts": now}) for e in events]
    rows = canary_evidence(events, "credit-v2")
    assert (rows.n, rows.total) == (20, 100)
    with Store.open(f"sqlite:///{tmp_path / 'nb2prod.db'}") as store:
        store.audit.write(events)
        folded = canary_evidence_from_profiles(store, "credit", "credit-v2", since=now - 60)
    assert (folded.n, folded.total) == (20, 100)
