"""Serving benchmark: the guarded service against BentoML's own floor on this machine, in one run.

Everything is measured in one run on 127.0.0.1 (ratios are what count on a shared machine):

1. BentoML's floor (the same validated input, no model, a prebuilt response): no service built on
   BentoML here can beat it; the guarded service's targets are ratios of it;
2. the generated guarded service (nb2prod runtime: guardrails, fallback, fsync'd audit spool →
   SQLite, Prometheus metrics; shadow off): c=1 sequential latency, c=16 throughput and p50/p99,
   and a 10x spike (10 → 100 connections): failed requests, answers from the fallback, 503s
   (shed load, retried by the client and counted), throughput at c=100 vs c=16;
3. the same guarded service with a shadow version at 100 %: c=16 throughput vs shadow off, and
   shadow completeness (share of shadowed rows whose audit row got the shadow's answer);
4. bare BentoML serving the model (one OpenMP thread; ``--bare-default`` adds library defaults);
5. audit completeness (every request id the guarded services answered is in the store), the
   audit-log write throughput and explanation latency.

Usage: ``.venv/bin/python benchmarks/service_load.py [--duration 15] [--spike 6] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "runtime")]

from loadgen import LoadResult, run_load  # noqa: E402

TOKEN = "benchmark-service-token"  # /status needs the service token

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

    return start(folder, target, home, store_url, timeout_s=240, extra_env={"NB2PROD_SERVICE_TOKEN": TOKEN, **(extra_env or {})})


def _cpu_seconds(pid: int) -> float:
    """CPU time of the serving process and all its children (workers, a drainer): steadier than req/s
    on a shared machine, since it does not count the time other processes held the cores."""
    import psutil

    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _measure(served: Any, bodies: list[bytes], duration: float, spike: float, *, full: bool = True) -> dict[str, LoadResult]:
    port = int(served.url.rsplit(":", 1)[1])

    def body(i: int) -> bytes:
        return bodies[i % len(bodies)]

    run_load("127.0.0.1", port, "/predict", body, concurrency=16, duration_s=3)  # warm-up
    before = _cpu_seconds(served.process.pid)
    measured = {"steady": run_load("127.0.0.1", port, "/predict", body, concurrency=16, duration_s=duration)}
    spent = _cpu_seconds(served.process.pid) - before
    measured["steady"].cpu_ms_per_request = 1000 * spent / max(measured["steady"].ok, 1)
    if full:
        measured["sequential"] = run_load("127.0.0.1", port, "/predict", body, concurrency=1, duration_s=min(duration, 5))
        measured["spike_10"] = run_load("127.0.0.1", port, "/predict", body, concurrency=10, duration_s=spike)
        measured["spike_100"] = run_load("127.0.0.1", port, "/predict", body, concurrency=100, duration_s=spike)
    return measured


def _audit_check(result: dict[str, LoadResult], store_url: str, shadow_version: str | None = None) -> dict[str, Any]:
    """Every answered request id in the store; with a shadow, the share of shadowed rows it answered."""
    from nb2prod.store import Store

    ids = [i for r in result.values() for i in r.request_ids]
    with Store.open(store_url) as store:
        deadline = time.monotonic() + 60
        start = time.monotonic()
        while store.audit.count() < len(ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        lag = time.monotonic() - start
        missing = sum(1 for i in ids if not store.audit.exists(i))
        figures: dict[str, Any] = {"answered": len(ids), "missing_from_store": missing, "drain_lag_after_load_s": round(lag, 2)}
        reasons = Counter((e.fallback_reason or "").split(":", 1)[0] for e in store.audit.predictions("credit") if e.fallback)
        figures["fallback_reasons"] = dict(reasons)  # timeout = the model's compute overran timeout_ms
        if shadow_version is not None:
            time.sleep(3)  # the shadow answers off the response path; let the last batch land
            events = [e for e in store.audit.predictions("credit") if e.shadow_version == shadow_version]
            compared = sum(1 for e in events if e.shadow_output is not None)
            timeouts = sum(1 for e in events if (e.shadow_error or "").startswith("timeout:"))
            figures.update(shadowed=len(events), compared=compared, shadow_timeouts=timeouts,
                           shadow_errors=sum(1 for e in events if e.shadow_error is not None) - timeouts,
                           completeness=round(compared / len(events), 4) if events else None)  # fmt: skip
    return figures


def _shadow_store(store_url: str, live: Path, candidate: Path) -> None:
    """Register both versions and route 100 % of live traffic to the candidate as a shadow, as ``nb2prod shadow`` does."""
    from nb2prod.models import RegistryEvent, Traffic, VersionRecord
    from nb2prod.store import Store

    with Store.open(store_url) as store:
        for version_id, folder in (("credit-v1", live), ("credit-v2", candidate)):
            store.registry.add_version(VersionRecord(version_id=version_id, name="credit", created_at="2026-12-01",
                                                     model_hash=version_id, deployment_dir=str(folder)))  # fmt: skip
        store.registry.set_traffic(
            Traffic(name="credit", live="credit-v1", shadow="credit-v2", shadow_percent=100.0),
            RegistryEvent(name="credit", action="shadow", version_id="credit-v2", actor="benchmark", reason="shadow at 100 %"),
        )


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


def _predict_paths(folder: Path) -> dict[str, Any]:
    """Median ms of one ``predict_rows`` call per batch size: the plain pipeline vs the compiled numpy path."""
    from runtime_folder import sample_rows
    from threadpoolctl import threadpool_limits

    from nb2prod.runtime import build_schema, load_spec
    from nb2prod.runtime.loading import load_model
    from nb2prod.runtime.predictor import Predictor

    threadpool_limits(1)  # as the runtime's model thread does
    spec = load_spec(folder)
    rows = build_schema(spec).validate_rows([{k: r.get(k) for k in spec.feature_names} for r in sample_rows(folder)])
    plain, fast = Predictor(load_model(folder), spec), Predictor(load_model(folder), spec)
    path = fast.use_fast_path(rows)
    figures: dict[str, Any] = {"selected": path.name, "reason": path.reason}
    for size in (1, 16, 64):
        batch = (rows * (size // len(rows) + 1))[:size]
        times: dict[str, list[float]] = {"sklearn": [], "numpy": []}
        for _ in range(60):  # interleaved, so both see the same machine
            for name, predictor in (("sklearn", plain), ("numpy", fast)):
                start = time.perf_counter()
                predictor.predict_rows(batch)
                times[name].append((time.perf_counter() - start) * 1000)
        med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        figures[f"batch_{size}"] = {"sklearn_ms": round(med["sklearn"], 2), "numpy_ms": round(med["numpy"], 2),
                                    "ratio": round(med["numpy"] / med["sklearn"], 2)}  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds at concurrency 16")
    parser.add_argument("--spike", type=float, default=6.0, help="seconds at 10, then at 100 connections")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--floor-last", action="store_true", help="measure BentoML's floor last (order-bias check)")
    parser.add_argument("--bare-default", action="store_true", help="also bare BentoML with default OpenMP threads (slow)")
    args = parser.parse_args()

    from runtime_folder import build_deployment, render_service, sample_rows

    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="nb2prod-bench-"))
    home = tmp / "home"
    folder = build_deployment(home / "deployments")
    candidate = build_deployment(home / "deployments", version_id="credit-v2", max_iter=100)
    render_service(folder)
    bare_dir = tmp / "bare"
    bare_dir.mkdir()
    (bare_dir / "service.py").write_text(BARE_SERVICE.format(folder=str(folder)))
    (bare_dir / "floor.py").write_text(FLOOR_SERVICE.format(folder=str(folder)))
    bodies = [json.dumps({"features": r}).encode() for r in sample_rows(folder)]
    store_url = f"sqlite:///{home / 'nb2prod.db'}"
    shadow_url = f"sqlite:///{home / 'shadow.db'}"
    _shadow_store(shadow_url, folder, candidate)

    runs: list[tuple[str, Path, str, dict[str, str], str]] = [
        ("bentoml_floor", bare_dir, "floor:Floor", {}, store_url),
        ("guarded", folder, "service:CreditService", {}, store_url),
        ("guarded_shadow", folder, "service:CreditService", {}, shadow_url),
        ("bare_1thread", bare_dir, "service:Bare", {"OMP_NUM_THREADS": "1"}, store_url),
    ]
    if args.bare_default:
        runs.append(("bare", bare_dir, "service:Bare", {}, store_url))
    if args.floor_last:
        runs.append(runs.pop(0))
    results: dict[str, dict[str, Any]] = {}
    audit: dict[str, Any] = {}
    for label, where, target, env, url in runs:
        served = _serve(where, target, home, url, env)
        try:
            measured = _measure(served, bodies, args.duration, args.spike, full=label in ("guarded", "bentoml_floor"))
            status = _status(served) if label.startswith("guarded") else {}
        finally:
            served.stop()
        results[label] = {k: v.summary() for k, v in measured.items()}
        results[label]["steady"]["cpu_ms_per_request"] = round(measured["steady"].cpu_ms_per_request or 0.0, 3)
        if label.startswith("guarded"):
            audit[label] = _audit_check(measured, url, "credit-v2" if label == "guarded_shadow" else None)
            results[label]["service_status"] = status
        print(label, json.dumps(results[label]), flush=True)

    f, g, gs = results["bentoml_floor"], results["guarded"], results["guarded_shadow"]
    spike = g["spike_100"]
    answered = spike["requests_ok"] + g["spike_10"]["requests_ok"]
    from_fallback = spike["fallback_answers"] + g["spike_10"]["fallback_answers"]
    figures = {
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "order": [label for label, *_ in runs],
        "services": results,
        "targets": {
            "guarded_vs_floor_rps_c16": round(g["steady"]["rps"] / f["steady"]["rps"], 3),  # >= 0.5
            # the serving processes' CPU per answered request, floor over guarded: the same ratio without other load
            "guarded_vs_floor_cpu_per_request_c16": round(f["steady"]["cpu_ms_per_request"] / g["steady"]["cpu_ms_per_request"], 3),
            "guarded_p99_ms_c16": g["steady"]["p99_ms"],  # <= 100
            "guarded_p50_ms_c1": g["sequential"]["p50_ms"],  # <= 10
            "floor_p50_ms_c1": f["sequential"]["p50_ms"],
            "spike_failed": g["spike_10"]["failed"] + spike["failed"],  # 0
            "spike_fallback_share": round(from_fallback / answered, 4) if answered else None,  # <= 0.01, both phases
            "spike_503s": spike["statuses"].get(503, 0) + g["spike_10"]["statuses"].get(503, 0),
            "spike_fallback_reasons": audit["guarded"].get("fallback_reasons"),
            "spike_rps_c100_vs_c16": round(spike["rps"] / g["steady"]["rps"], 3),  # >= 1
            "shadow_vs_no_shadow_rps_c16": round(gs["steady"]["rps"] / g["steady"]["rps"], 3),  # >= 0.8
            "shadow_completeness": audit["guarded_shadow"].get("completeness"),  # >= 0.95
            "audit_missing": sum(a["missing_from_store"] for a in audit.values()),  # 0
        },
        "p50_ratio_guarded_vs_floor_c16": round(g["steady"]["p50_ms"] / f["steady"]["p50_ms"], 2),
        "ratio_guarded_vs_bare_1thread_rps": round(g["steady"]["rps"] / results["bare_1thread"]["steady"]["rps"], 2),
        "audit_completeness": audit,
        "audit_write_throughput": _audit_throughput(tmp),
        "explanations": _explain_latency(folder, tmp),
        "predict_paths_in_process": _predict_paths(folder),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    print("\n| c = 16 | req/s | p50 ms | p99 ms | failed | CPU ms per request |")
    print("|---|---|---|---|---|---|")
    names = {"bentoml_floor": "BentoML floor (validated input, no model, prebuilt response)",
             "guarded": "guarded (audit + metrics on, shadow off)", "guarded_shadow": "guarded, shadow at 100 %",
             "bare_1thread": "bare BentoML, 1 OpenMP thread", "bare": "bare BentoML, library defaults"}  # fmt: skip
    for label, r in results.items():
        st = r["steady"]
        print(f"| {names[label]} | {st['rps']} | {st['p50_ms']} | {st['p99_ms']} | {st['failed']} | {st['cpu_ms_per_request']} |")
    print(f"\nguarded/floor: {figures['targets']['guarded_vs_floor_rps_c16']}x req/s, "
          f"{figures['p50_ratio_guarded_vs_floor_c16']}x p50 at c=16; load average {figures['machine']}")  # fmt: skip
    _print_targets(figures, g)


def _print_targets(figures: dict[str, Any], g: dict[str, Any]) -> None:
    """The issue's targets as a markdown table, ready to paste into RESULTS.md."""
    t, m = figures["targets"], figures["machine"]
    s10, s100 = g["spike_10"], g["spike_100"]
    path = (g.get("service_status") or {}).get("predict_path") or {}
    rows = [
        ("guarded >= 0.5x floor req/s at c=16", f"{t['guarded_vs_floor_rps_c16']}x", t["guarded_vs_floor_rps_c16"] >= 0.5),
        ("(same, as CPU per request: floor's / guarded's)", f"{t['guarded_vs_floor_cpu_per_request_c16']}x", None),
        ("guarded p99 <= 100 ms at c=16", f"{t['guarded_p99_ms_c16']} ms", t["guarded_p99_ms_c16"] <= 100),
        ("c=1 p50 <= 10 ms", f"{t['guarded_p50_ms_c1']} ms (floor {t['floor_p50_ms_c1']} ms)", t["guarded_p50_ms_c1"] <= 10),
        ("spike 10 -> 100: 0 failed", str(t["spike_failed"]), t["spike_failed"] == 0),
        ("spike: <= 1 % answers from the fallback",
         f"{s10['fallback_answers'] + s100['fallback_answers']} / {s10['requests_ok'] + s100['requests_ok']} = "
         f"{t['spike_fallback_share']:.2%} (reasons {t['spike_fallback_reasons']})", (t["spike_fallback_share"] or 0) <= 0.01),
        ("spike: c=100 req/s >= c=16", f"{s100['rps']} vs {g['steady']['rps']} ({t['spike_rps_c100_vs_c16']}x)", t["spike_rps_c100_vs_c16"] >= 1),
        ("spike: 503s counted", f"{t['spike_503s']} (retried by the client)", True),
        ("shadow 100 %: >= 0.8x shadow-off req/s", f"{t['shadow_vs_no_shadow_rps_c16']}x", t["shadow_vs_no_shadow_rps_c16"] >= 0.8),
        ("shadow completeness >= 95 %", str(t["shadow_completeness"]), (t["shadow_completeness"] or 0) >= 0.95),
        ("audit completeness 100 %", f"{t['audit_missing']} missing", t["audit_missing"] == 0),
    ]  # fmt: skip
    pp = figures["predict_paths_in_process"]
    print("\n| predict_rows, median ms | plain pipeline | compiled numpy path | ratio |\n|---|---|---|---|")
    for size in (1, 16, 64):
        b = pp[f"batch_{size}"]
        print(f"| {size} row(s) | {b['sklearn_ms']} | {b['numpy_ms']} | {b['ratio']}x |")
    print(f"\npredict path: {path.get('predict_path')} ({path.get('reason')}); "
          f"load average {m['loadavg_before']} before, {m['loadavg_after']} after, {m['cpus']} CPUs\n")
    print("| target | measured | |\n|---|---|---|")
    for target, measured, met in rows:
        print(f"| {target} | {measured} | {'—' if met is None else 'met' if met else '**not met**'} |")


def _status(served: Any) -> dict[str, Any]:
    import httpx

    headers = {"authorization": f"Bearer {TOKEN}"}
    reply = httpx.post(f"{served.url}/status", json={}, headers=headers, timeout=10)
    body = reply.json() if reply.status_code == 200 else {}
    return {"shed": body.get("shed"), "audit": body.get("audit"), "shadow": (body.get("rollout") or {}).get("shadow"),
            "predict_path": body.get("predict_path"), "gil": body.get("gil")}


if __name__ == "__main__":
    main()
