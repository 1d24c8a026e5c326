"""Benchmark: live-path latency of the guarded runtime with a shadow model on vs off.

In-process (GuardedRuntime, fsync'd audit spool → SQLite, the example credit pipeline as the
live model and a second trained version as the shadow). Shadow off and on alternate in short rounds
within one run, so machine noise hits both alike; the shadow is switched through the store's
traffic, exactly as ``nb2prod shadow`` does. Measured:

1. sequential single-row requests (one caller): p50 / p99 of the live answer;
2. 8 concurrent callers (micro-batching): p50 / p99 and throughput;
3. shadow completeness: of the live rows routed to the shadow, how many got a shadow output, how many
   a shadow error, a shadow timeout, or nothing at all (an error is not a result).

Target: p50 overhead <= 1 ms.

Usage: ``.venv/bin/python benchmarks/shadow_overhead.py [--requests 100] [--rounds 12] [--json out.json]``
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
sys.path[:0] = [str(HERE.parent / "tests" / "runtime")]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _sequential(rt: Any, rows: list[dict[str, Any]], n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        rt.predict([rows[i % len(rows)]])
        out.append((time.perf_counter() - start) * 1000)
    return out


def _concurrent(rt: Any, rows: list[dict[str, Any]], n: int, callers: int = 8) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per = n // callers

    def caller(offset: int) -> None:
        mine = []
        for i in range(per):
            start = time.perf_counter()
            rt.predict([rows[(offset * per + i) % len(rows)]])
            mine.append((time.perf_counter() - start) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(callers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, len(latencies) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per scenario per round")
    parser.add_argument("--rounds", type=int, default=12, help="off/on alternations (order flips every round)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

    from runtime_folder import build_deployment

    from nb2prod.examples.credit import TARGET, make_credit_data
    from nb2prod.models import RegistryEvent, Traffic, VersionRecord
    from nb2prod.rollout.compare import TIMEOUT_PREFIX
    from nb2prod.runtime import GuardedRuntime
    from nb2prod.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="nb2prod-shadow-bench-"))
    root = tmp / "deployments"
    v1 = build_deployment(root, version_id="credit-v1", timeout_ms=5000)
    v2 = build_deployment(root, version_id="credit-v2", timeout_ms=5000, max_iter=100)
    url = f"sqlite:///{tmp / 'nb2prod.db'}"
    store = Store.open(url)
    for version_id, folder in (("credit-v1", v1), ("credit-v2", v2)):
        store.registry.add_version(VersionRecord(version_id=version_id, name="credit", created_at="2026-11-01",
                                                 model_hash=version_id, deployment_dir=str(folder)))
    off = Traffic(name="credit", live="credit-v1")
    on = Traffic(name="credit", live="credit-v1", shadow="credit-v2", shadow_percent=100.0)

    def route(traffic: Traffic) -> None:
        store.registry.set_traffic(traffic, RegistryEvent(name="credit", action="shadow", version_id=traffic.shadow,
                                                          actor="benchmark", reason="shadow on/off"))
        rt.traffic.refresh()

    data = make_credit_data(2000, seed=7).drop(columns=[TARGET]).head(1600)
    rows = json.loads(data.to_json(orient="records"))
    store.registry.set_traffic(off, RegistryEvent(name="credit", action="promote", version_id="credit-v1", actor="benchmark", reason="live"))
    rt = GuardedRuntime.load(v1, store_url=url, spool_dir=tmp / "spool")
    _sequential(rt, rows, 200)  # warm-up: first-call costs, explainer, SQLite
    route(on)
    _sequential(rt, rows, 200)
    assert rt.flush(60)

    seq: dict[str, list[float]] = {"off": [], "on": []}
    conc: dict[str, list[float]] = {"off": [], "on": []}
    rps: dict[str, list[float]] = {"off": [], "on": []}
    for k in range(args.rounds):
        order = (("off", off), ("on", on)) if k % 2 == 0 else (("on", on), ("off", off))
        for mode, traffic in order:
            route(traffic)
            seq[mode] += _sequential(rt, rows, args.requests)
            lat, throughput = _concurrent(rt, rows, args.requests)
            conc[mode] += lat
            rps[mode].append(throughput)
            rt.flush(60)  # drain between scenarios so one does not pay for the other's backlog
    shadow_stats = rt.shadow.stats()
    rt.close(30)
    events = store.audit.predictions("credit")
    store.close()
    shadowed = [e for e in events if e.shadow_version == "credit-v2"]
    outputs = sum(1 for e in shadowed if e.shadow_output is not None and e.shadow_error is None)
    timeouts = sum(1 for e in shadowed if (e.shadow_error or "").startswith(TIMEOUT_PREFIX))
    errors = sum(1 for e in shadowed if e.shadow_error is not None) - timeouts

    result = {
        "sequential_ms": {m: {"p50": round(statistics.median(v), 3), "p99": round(_percentile(v, 99), 3)} for m, v in seq.items()},
        "concurrent8_ms": {m: {"p50": round(statistics.median(v), 3), "p99": round(_percentile(v, 99), 3)} for m, v in conc.items()},
        "concurrent8_rps": {m: round(statistics.median(v), 1) for m, v in rps.items()},
        "p50_overhead_ms_sequential": round(statistics.median(seq["on"]) - statistics.median(seq["off"]), 3),
        "p50_overhead_ms_concurrent8": round(statistics.median(conc["on"]) - statistics.median(conc["off"]), 3),
        "shadowed_rows": len(shadowed),
        "shadow_outputs_written": outputs,  # a shadow answer stored on the row: what compare and the gate use
        "shadow_errors": errors,
        "shadow_timeouts": timeouts,
        "shadow_missing": len(shadowed) - outputs - errors - timeouts,
        "shadow_completeness": round(outputs / len(shadowed), 4) if shadowed else None,
        "shadow_skipped_queue_full": shadow_stats["skipped_queue_full"],
        "requests_per_scenario": args.requests * args.rounds,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
