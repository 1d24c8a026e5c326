"""The local topology's gateway: req/s through nginx vs straight to the service, and a replica killed under load.

1. Overhead: the example credit model's live version as a one-replica topology (nginx in front,
   gateway mode, the shared store). The same keep-alive load (``loadgen``) alternately straight to
   the replica and through nginx, ``--rounds`` times each; prints req/s and p50/p99 of both and
   their ratio (same run, same machine state: compare the ratio).
2. Replica kill: a two-replica topology under load through nginx; one replica's whole process
   tree gets SIGKILL a third of the way in. Prints requests answered and failed, and rows lost:
   answered (200) request ids missing from the store once the supervisor has replayed the dead
   replica's spool (must be 0).

The store is PostgreSQL with ``--store URL`` (or ``NB2PROD_TEST_PG_URL``), else SQLite in a temp
folder (replicas then contend for its write lock). The machine is shared: note the load average.

    .venv/bin/python benchmarks/gateway_overhead.py [--store postgresql+psycopg://…] [--seconds 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "runtime")]

from loadgen import LoadResult, run_load  # noqa: E402
from runtime_folder import build_deployment, render_service, sample_rows  # noqa: E402

from nb2prod.api import Workspace  # noqa: E402
from nb2prod.models import VersionRecord  # noqa: E402
from nb2prod.store import Store  # noqa: E402


def _deploy(home: Path, store_url: str) -> tuple[Workspace, str, list[dict[str, Any]]]:
    name = f"gw{os.getpid()}"
    folder = build_deployment(home / "deployments", name=name, version_id=f"{name}-v1", timeout_ms=2000)
    render_service(folder, service_class="GatewayBench")
    ws = Workspace.open(home, env={"NB2PROD_STORE_URL": store_url})
    ws.store.registry.add_version(VersionRecord(version_id=f"{name}-v1", name=name, created_at="-", model_hash="-", deployment_dir=str(folder)))
    ws.promote(f"{name}:{name}-v1", actor="benchmark")
    return ws, name, sample_rows(folder)


def _body(rows: list[dict[str, Any]]) -> Any:
    encoded = [json.dumps({"features": row}).encode() for row in rows]
    return lambda i: encoded[i % len(encoded)]


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def overhead(ws: Workspace, name: str, rows: list[dict[str, Any]], *, seconds: float, rounds: int, concurrency: int) -> dict[str, Any]:
    topology = ws.serve_topology(name, replicas=1)
    try:
        replica = topology.replicas_of(f"{name}-v1")[0]
        run_load("127.0.0.1", replica.port, "/predict", _body(rows), concurrency=concurrency, duration_s=2)  # warm both paths
        run_load("127.0.0.1", _port(topology.url), "/predict", _body(rows), concurrency=concurrency, duration_s=2)
        direct: list[LoadResult] = []
        gateway: list[LoadResult] = []
        for _ in range(rounds):
            direct.append(run_load("127.0.0.1", replica.port, "/predict", _body(rows), concurrency=concurrency, duration_s=seconds))
            gateway.append(run_load("127.0.0.1", _port(topology.url), "/predict", _body(rows), concurrency=concurrency, duration_s=seconds))
    finally:
        topology.stop()

    def summary(results: list[LoadResult]) -> dict[str, Any]:
        return {"rps": round(statistics.median(r.rps for r in results), 1), "p50_ms": round(statistics.median(r.percentile(50) for r in results), 2),
                "p99_ms": round(statistics.median(r.percentile(99) for r in results), 2), "failed": sum(r.failed for r in results)}

    d, g = summary(direct), summary(gateway)
    return {"direct": d, "through_nginx": g, "rps_ratio_gateway_over_direct": round(g["rps"] / d["rps"], 3) if d["rps"] else None}


def replica_kill(ws: Workspace, name: str, rows: list[dict[str, Any]], *, seconds: float, concurrency: int) -> dict[str, Any]:
    topology = ws.serve_topology(name, replicas=2)
    stop = threading.Event()
    watcher = threading.Thread(target=topology.watch, args=(stop, 0.5), daemon=True)
    watcher.start()
    try:
        victim = topology.replicas_of(f"{name}-v1")[0]
        timer = threading.Timer(seconds / 3, victim.kill)
        timer.start()
        result = run_load("127.0.0.1", _port(topology.url), "/predict", _body(rows), concurrency=concurrency, duration_s=seconds, max_retries=0)
        timer.join()
        deadline = time.monotonic() + 60
        while topology.restarts < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        with Store.open(topology.store_url) as store:
            lost = [r for r in result.request_ids if not store.audit.exists(r)]
            deadline = time.monotonic() + 60
            while lost and time.monotonic() < deadline:  # the survivor's last rows may still be on their way
                time.sleep(0.5)
                lost = [r for r in lost if not store.audit.exists(r)]
    finally:
        stop.set()
        watcher.join(30)
        topology.stop()
    return {"seconds": round(result.duration_s, 1), "answered": result.ok, "failed": result.failed, "statuses": result.statuses,
            "rows_lost": len(lost), "replica_restarted": topology.restarts >= 1, "errors": result.errors[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=os.environ.get("NB2PROD_TEST_PG_URL"))
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="nb2prod-gateway-"))
    store_url = args.store or f"sqlite:///{home / 'nb2prod.db'}"
    os.environ["BENTOML_HOME"] = str(home / "bentoml")
    os.environ["BENTOML_DO_NOT_TRACK"] = "True"
    ws, name, rows = _deploy(home, store_url)
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        print(json.dumps({"store": store_url.split("://")[0], "overhead": overhead(ws, name, rows, seconds=args.seconds, rounds=args.rounds,
                                                                                    concurrency=args.concurrency)}, indent=2))
        print(json.dumps({"replica_kill": replica_kill(ws, name, rows, seconds=max(9.0, args.seconds * 1.5), concurrency=args.concurrency)},
                         indent=2))
        print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    finally:
        ws.close()


if __name__ == "__main__":
    main()
