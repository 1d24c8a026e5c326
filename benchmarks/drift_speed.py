"""Benchmark: our drift engine vs Evidently's DataDriftPreset, and the live refresh.

    .venv/bin/python benchmarks/drift_speed.py [--rows 10000 100000 1000000] [--skip-evidently-above N]

Each engine runs in its own subprocess (peak RSS = ru_maxrss of that process; the RSS right
after building the data frames is printed too, so the engine's own share is visible). Both see
the same reference/current frames: the credit example data (economic_shift scenario for the
current frame) widened to 23 columns. Ours = drift from reference sketches (built once, as at
deploy time; its build time is shown separately). "Equal statistics": the largest difference
between Evidently's per-column value and ours for the same test (KS p-value, normed Wasserstein,
Jensen–Shannon). Live refresh: drift of a 10k-row window against the 100k-row reference sketch
(median of 20), and the same including the read of 10k audit rows from a SQLite store.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

CATEGORICAL_EXTRA = ("channel", "employment_type", "state")


def frames(n: int):  # type: ignore[no-untyped-def]
    from nb2prod.examples.credit import CATEGORICAL, TARGET, make_credit_data

    def widen(frame, seed):  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(seed)
        frame = frame.drop(columns=[TARGET])
        for i in range(6):
            frame[f"score_{i}"] = (frame["income"] / 1e4 * (i + 1) + rng.normal(0, 1 + i, len(frame))).round(3)
        frame["channel"] = rng.choice(np.array(["web", "branch", "partner", "phone"]), len(frame), p=[0.5, 0.2, 0.2, 0.1])
        frame["employment_type"] = rng.choice(np.array(["salaried", "self", "contract"]), len(frame), p=[0.7, 0.2, 0.1])
        frame["state"] = rng.choice(np.array([f"s{i:02d}" for i in range(30)]), len(frame))
        return frame

    ref = widen(make_credit_data(n, seed=1), 11)
    cur = widen(make_credit_data(n, seed=2, scenario="economic_shift"), 12)
    categorical = [*CATEGORICAL, *CATEGORICAL_EXTRA]
    numeric = [c for c in ref.columns if c not in categorical]
    return ref, cur, numeric, categorical


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_engine(engine: str, n: int) -> dict:
    ref, cur, numeric, categorical = frames(n)
    base = rss_mb()
    out: dict = {"engine": engine, "rows": n, "columns": len(numeric) + len(categorical), "rss_data_mb": base}
    if engine == "ours":
        from nb2prod.monitor.drift import compute_drift
        from nb2prod.monitor.reference import build_reference

        compute_drift(build_reference(ref.head(2000), categorical, sample_size=0), cur.head(2000))  # warm imports
        t = time.perf_counter()
        sketch = build_reference(ref, categorical, sample_size=0)
        out["build_reference_s"] = time.perf_counter() - t
        t = time.perf_counter()
        result = compute_drift(sketch, cur)
        out["seconds"] = time.perf_counter() - t
        out["values"] = {f.feature: {"p": f.p_value, "effect": f.effect} for f in result.features}
        out["drifted"] = result.drifted
    else:
        from nb2prod.adapters.evidently_report import data_drift_report

        data_drift_report(ref.head(500), cur.head(500), numerical=numeric, categorical=categorical)  # warm imports
        t = time.perf_counter()
        result = data_drift_report(ref, cur, numerical=numeric, categorical=categorical)
        out["seconds"] = time.perf_counter() - t
        out["values"] = result["columns"]
        out["drifted_count"] = result["drifted_count"]
    out["rss_peak_mb"] = rss_mb()
    return out


def live_refresh() -> dict:
    from nb2prod.examples.credit import CATEGORICAL
    from nb2prod.models import AuditEvent
    from nb2prod.monitor.drift import compute_drift
    from nb2prod.monitor.frames import load_audit_frame
    from nb2prod.monitor.reference import build_reference
    from nb2prod.store import Store

    ref, cur, _numeric, categorical = frames(100_000)
    sketch = build_reference(ref, categorical, sample_size=0)
    window = cur.head(10_000)
    compute_drift(sketch, window)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        compute_drift(sketch, window)
        times.append((time.perf_counter() - t) * 1000)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/nb2prod.db")
        rows = window[[c for c in window.columns if c in ref.columns]].to_dict(orient="records")
        now = time.time()
        store.audit.write([
            AuditEvent(request_id=f"r{i}", name="bench", version_id="v1", ts=now - 10_000 + i,
                       inputs={k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}, output=0, score=0.1,
                       latency_ms=5.0)
            for i, r in enumerate(rows)
        ])
        full = []
        for _ in range(5):
            t = time.perf_counter()
            frame = load_audit_frame(store, "bench", since=now - 20_000, until=now + 1, with_feedback=False)
            compute_drift(sketch, frame.inputs)
            full.append((time.perf_counter() - t) * 1000)
        store.close()
    del CATEGORICAL
    return {"drift_10k_ms": statistics.median(times), "store_read_plus_drift_10k_ms": statistics.median(full)}


def false_alarms(trials: int = 200) -> dict:
    from nb2prod.examples.credit import CATEGORICAL, TARGET, make_credit_data
    from nb2prod.monitor.drift import compute_drift
    from nb2prod.monitor.reference import build_reference

    alarms = 0
    for i in range(trials):
        ref = make_credit_data(2000, seed=10_000 + i).drop(columns=[TARGET])
        cur = make_credit_data(500, seed=20_000 + i).drop(columns=[TARGET])
        alarms += compute_drift(build_reference(ref, CATEGORICAL, sample_size=0), cur).detected
    return {"trials": trials, "dataset_false_alarm_rate": alarms / trials}


def agreement(ours: dict, theirs: dict, categorical: set[str]) -> dict:
    diffs: dict[str, float] = {}
    for column, entry in theirs["values"].items():
        mine = ours["values"].get(column)
        if mine is None:
            continue
        method = entry["method"]
        key = "ks_p" if method.startswith("K-S") else "wasserstein" if method.startswith("Wasserstein") else \
            "jensen_shannon" if method.startswith("Jensen") else None
        if key is None or (key == "jensen_shannon") != (column in categorical):
            continue  # a different test than ours for this column (e.g. Evidently's JS on a numeric column)
        value = mine["p"] if key == "ks_p" else mine["effect"]
        diffs[key] = max(diffs.get(key, 0.0), abs(value - entry["value"]))
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--engine", choices=["ours", "evidently"])
    parser.add_argument("--skip-evidently-above", type=int, default=10**9)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(run_engine(args.engine, args.rows[0])))
        return
    lines = ["| rows × cols | ours (s) | Evidently (s) | speed-up | peak RSS ours / Evidently (MB) | data-only RSS (MB) "
             "| max |Δ| KS p / Wasserstein / JS | drifted cols ours / Evidently |", "|---|---|---|---|---|---|---|---|"]
    for n in args.rows:
        results = {}
        for engine in ("ours", "evidently"):
            if engine == "evidently" and n > args.skip_evidently_above:
                continue
            proc = subprocess.run([sys.executable, __file__, "--engine", engine, "--rows", str(n)], capture_output=True, text=True,
                                  check=True)
            results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
        ours, theirs = results["ours"], results.get("evidently")
        print(f"{n}: ours {ours['seconds']:.3f}s (reference build {ours['build_reference_s']:.2f}s, once at deploy)"
              + (f", Evidently {theirs['seconds']:.2f}s" if theirs else ""), flush=True)
        if theirs:
            d = agreement(ours, theirs, set(frames(10)[3]))
            lines.append(
                f"| {n:,} × {ours['columns']} | {ours['seconds']:.3f} | {theirs['seconds']:.2f} | {theirs['seconds'] / ours['seconds']:.0f}x "
                f"| {ours['rss_peak_mb']:.0f} / {theirs['rss_peak_mb']:.0f} | {ours['rss_data_mb']:.0f} "
                f"| {d.get('ks_p', float('nan')):.1e} / {d.get('wasserstein', float('nan')):.1e} / {d.get('jensen_shannon', float('nan')):.1e} "
                f"| {len(ours['drifted'])} / {int(theirs['drifted_count'])} |"
            )
    live = live_refresh()
    calibration = false_alarms()
    print("\n".join(lines))
    print(f"live refresh, 10k-row window: drift {live['drift_10k_ms']:.1f} ms (median of 20); "
          f"with the read of 10k audit rows from SQLite {live['store_read_plus_drift_10k_ms']:.0f} ms (median of 5)")
    print(f"false alarms on identical distributions: {calibration['dataset_false_alarm_rate']:.1%} of {calibration['trials']} trials")


if __name__ == "__main__":
    main()
