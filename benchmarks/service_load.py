"""Issue 5 benchmark: the guarded service (audit log on) vs a bare BentoML service of the same model.

Everything is measured in one run on 127.0.0.1 (ratios are what count on a shared machine):

1. throughput and p50/p99 latency at concurrency 16 for: the bare BentoML service (the model
   behind ``@bentoml.api``, library defaults), the same bare service with one OpenMP thread,
   the generated guarded service (nb2prod runtime, fsync'd audit spool → SQLite), and BentoML's
   floor on this machine (the same validated input, no model, a prebuilt response): no service
   built on BentoML here can beat the floor's latency;
2. a 10x spike (10 → 100 concurrent connections): failed requests (non-2xx after retries or
   connection errors) and 503 retries, counted separately;
3. audit completeness: every request id the guarded service answered is in the store;
4. audit-log write throughput: spool append+fsync, store batch insert, spool → store drain;
5. explanation latency for the example model (in-process).

Usage: ``.venv/bin/python benchmarks/service_load.py [--duration 15] [--spike 6] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "runtime")]

from loadgen import LoadResult, run_load  # noqa: E402

BARE_SERVICE = '''
import bentoml
import pandas as pd

from nb2prod.package.artifact import load_model
from nb2prod.runtime import build_schema, load_spec

FOLDER = {folder!r}
SPEC = load_spec(FOLDER)
Features = build_schema(SPEC).features


@bentoml.service(name="bare", traffic={{"timeout": 30}}, workers=1)
class Bare:
    """The same model behind a plain BentoML endpoint: no guardrails, fallback, audit or metrics of ours."""

    def __init__(self) -> None:
        self.model = load_model(FOLDER)
        self.columns = list(SPEC.feature_names)

    @bentoml.api
    def predict(self, features: Features) -> dict:
        frame = pd.DataFrame([features.model_dump(by_alias=True)], columns=self.columns)
        p = float(self.model.predict_proba(frame)[0, 1])
        return {{"prediction": int(p >= 0.5), "probability": p}}
'''


FLOOR_SERVICE = '''
import bentoml
from starlette.responses import Response

from nb2prod.runtime import build_schema, load_spec

Features = build_schema(load_spec({folder!r})).features
ANSWER = b'{{"prediction":0,"probability":0.1}}'


@bentoml.service(name="floor", traffic={{"timeout": 30}}, workers=1, logging={{"access": {{"enabled": False}}}})
class Floor:
    """BentoML's own floor: the same validated input, no model, a prebuilt response, no access log."""

    @bentoml.api
    async def predict(self, features: Features) -> dict:
        return Response(ANSWER, media_type="application/json")
'''


def _serve(folder: Path, target: str, home: Path, store_url: str, extra_env: dict[str, str] | None = None) -> Any:
    from service_proc import start

    return start(folder, target, home, store_url, timeout_s=240, extra_env=extra_env)


def _measure(served: Any, bodies: list[bytes], duration: float, spike: float) -> dict[str, Any]:
    port = int(served.url.rsplit(":", 1)[1])

    def body(i: int) -> bytes:
        return bodies[i % len(bodies)]

    run_load("127.0.0.1", port, "/predict", body, concurrency=16, duration_s=3)  # warm-up
    steady = run_load("127.0.0.1", port, "/predict", body, concurrency=16, duration_s=duration)
    before = run_load("127.0.0.1", port, "/predict", body, concurrency=10, duration_s=spike)
    during = run_load("127.0.0.1", port, "/predict", body, concurrency=100, duration_s=spike)
    return {"steady": steady, "spike_10": before, "spike_100": during}


def _audit_check(result: dict[str, LoadResult], store_url: str) -> dict[str, Any]:
    from nb2prod.store import Store

    ids = [i for r in result.values() for i in r.request_ids]
    with Store.open(store_url) as store:
        deadline = time.monotonic() + 60
        start = time.monotonic()
        while store.audit.count() < len(ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        lag = time.monotonic() - start
        missing = sum(1 for i in ids if not store.audit.exists(i))
    return {"answered": len(ids), "missing_from_store": missing, "drain_lag_after_load_s": round(lag, 2)}


def _audit_throughput(tmp: Path) -> dict[str, Any]:
    from runtime_folder import sample_rows  # noqa: F401  (keeps the import path honest)

    from nb2prod.models import AuditEvent
    from nb2prod.runtime import AuditWriter, StoreHandle
    from nb2prod.runtime.spool import Spool
    from nb2prod.store import Store

    def rec(i: int) -> dict[str, Any]:
        return {"request_id": f"t{i:08d}", "name": "credit", "version_id": "credit-v1", "ts": time.time(),
                "inputs": {"age": 40, "income": 52000.0, "purpose": "car", "region": "north", "gender": "female"},
                "output": 0, "score": 0.2, "probabilities": [0.8, 0.2], "latency_ms": 3.1, "fallback": False,
                "violations": [], "confidence": "high"}  # fmt: skip

    n = 20_000
    spool = Spool(tmp / "spool-bench").open()
    start = time.perf_counter()
    for i in range(0, n, 16):  # one fsync per micro-batch of 16, as under load
        spool.append([rec(j) for j in range(i, i + 16)])
    spool_rate = n / (time.perf_counter() - start)
    spool.close(drained=True)
    url = f"sqlite:///{tmp / 'throughput.db'}"
    with Store.open(url) as store:
        events = [AuditEvent.from_dict(rec(i)) for i in range(n, 2 * n)]
        start = time.perf_counter()
        for i in range(0, n, 500):
            store.audit.write(events[i : i + 500])
        insert_rate = n / (time.perf_counter() - start)
    writer = AuditWriter(tmp / "spool-e2e", StoreHandle(url)).start()
    start = time.perf_counter()
    for i in range(2 * n, 3 * n, 16):
        writer.append([rec(j) for j in range(i, i + 16)])
    writer.flush(120)
    e2e = n / (time.perf_counter() - start)
    writer.close()
    return {"spool_append_fsync_rows_per_s": round(spool_rate), "sqlite_batch_insert_rows_per_s": round(insert_rate),
            "spool_to_sqlite_end_to_end_rows_per_s": round(e2e)}  # fmt: skip


def _explain_latency(folder: Path, tmp: Path) -> dict[str, Any]:
    from runtime_folder import sample_rows

    from nb2prod.runtime import GuardedRuntime

    rt = GuardedRuntime.load(folder, store_url=f"sqlite:///{tmp / 'explain.db'}", spool_dir=tmp / "explain-spool")
    try:
        assert rt.explainer is not None
        rows = sample_rows(folder)
        times = []
        for i in range(200):
            start = time.perf_counter()
            rt.explainer.explain([rows[i % len(rows)]])
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        return {"method": rt.explainer.method, "p50_ms": round(times[100], 2), "p99_ms": round(times[197], 2)}
    finally:
        rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds at concurrency 16")
    parser.add_argument("--spike", type=float, default=6.0, help="seconds at 10, then at 100 connections")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--guarded-first", action="store_true", help="measure the guarded service first (order-bias check)")
    args = parser.parse_args()

    from runtime_folder import build_deployment, render_service, sample_rows
    from service_proc import Served  # noqa: F401

    tmp = Path(tempfile.mkdtemp(prefix="nb2prod-bench-"))
    home = tmp / "home"
    folder = build_deployment(home / "deployments")
    render_service(folder)
    bare_dir = tmp / "bare"
    bare_dir.mkdir()
    (bare_dir / "service.py").write_text(BARE_SERVICE.format(folder=str(folder)))
    (bare_dir / "floor.py").write_text(FLOOR_SERVICE.format(folder=str(folder)))
    bodies = [json.dumps({"features": r}).encode() for r in sample_rows(folder)]
    store_url = f"sqlite:///{home / 'nb2prod.db'}"

    results: dict[str, dict[str, Any]] = {}
    runs = [
        ("bare", bare_dir, "service:Bare", {}),
        ("bare_1thread", bare_dir, "service:Bare", {"OMP_NUM_THREADS": "1"}),
        ("guarded", folder, "service:CreditService", {}),
        ("bentoml_floor", bare_dir, "floor:Floor", {}),
    ]
    if args.guarded_first:
        runs.reverse()
    audit: dict[str, Any] = {}
    for label, where, target, env in runs:
        served = _serve(where, target, home, store_url, env)
        try:
            measured = _measure(served, bodies, args.duration, args.spike)
        finally:
            served.stop()
        results[label] = {k: v.summary() for k, v in measured.items()}
        if label == "guarded":
            audit = _audit_check(measured, store_url)
        print(label, json.dumps(results[label]), flush=True)

    figures = {
        "machine": {"cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2)},
        "order": [label for label, *_ in runs],
        "services": results,
        "ratio_guarded_vs_bare_rps": round(results["guarded"]["steady"]["rps"] / results["bare"]["steady"]["rps"], 2),
        "ratio_guarded_vs_bare_1thread_rps": round(
            results["guarded"]["steady"]["rps"] / results["bare_1thread"]["steady"]["rps"], 2
        ),
        "audit_completeness": audit,
        "audit_write_throughput": _audit_throughput(tmp),
        "explanations": _explain_latency(folder, tmp),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    g, b, b1, f = (results[k]["steady"] for k in ("guarded", "bare", "bare_1thread", "bentoml_floor"))
    print("\n| service (c=16) | req/s | p50 ms | p99 ms | failed |")
    print("|---|---|---|---|---|")
    rows = (("bare BentoML", b), ("bare BentoML, OMP_NUM_THREADS=1", b1), ("guarded (audit on)", g),
            ("BentoML floor: no model, prebuilt response", f))
    for name, r in rows:
        print(f"| {name} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['failed']} |")
    print(f"\nmedian latency ratio guarded/bare: {statistics.median([g['p50_ms'] / b['p50_ms']]):.2f}")


if __name__ == "__main__":
    main()
