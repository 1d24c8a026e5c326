"""Monitoring at real traffic: profile path vs exact row path, write throughput, profile storage.

Seeds a day of credit-model traffic (the example's 14 input columns, 20 % labelled) through the
store's one prediction write path (``Store.audit.write`` in batches, as the service's writer
thread does), then — in a fresh process per measurement, so peak RSS is the reader's own — times:

- ``Workspace.monitor(window="1d")`` from profiles, and from the audit rows (``source="rows"``,
  only up to ``--row-path-max`` rows: it grows linearly);
- ``Workspace.drift_series(window="1d", points=24)``;
- one refresh of the Drift panel's REST calls (monitor + drift_series), and the dashboard's one read
  of both (``monitor_with_series``);
- in a fresh process (after a restart): opening the store, then the dashboard route's first call
  (lazy imports and the day's profiles decoded inside it) and its second call;
- write throughput with profiles on vs off on the same rows (the first ``--throughput-rows``);
- profile bytes per bucket (one minute of one deployment, version and arm).

Usage: ``python benchmarks/monitor_scale.py [--rows 100000 1000000] [--batch 1000]``

Seed once, re-measure the reads many times: ``--rows 10000000 --keep /tmp/monitor10m`` seeds into
that folder (one run size) and keeps it, with the seeding figures and the seeded "now" in
``seeded.json``; ``--reread /tmp/monitor10m`` then re-times only the reads (about a minute).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

NAME = "credit"
DAY = 86400.0


def _register(home: Path) -> None:
    from nb2prod.api import Workspace
    from nb2prod.examples.credit import CATEGORICAL, PROTECTED, TARGET, make_credit_data
    from nb2prod.models import RegistryEvent, Traffic, VersionRecord
    from nb2prod.monitor.reference import build_reference, save_reference

    folder = home / "deployments" / NAME / f"{NAME}-v1"
    folder.mkdir(parents=True, exist_ok=True)
    save_reference(build_reference(make_credit_data(20_000, seed=1).drop(columns=[TARGET]), CATEGORICAL), folder / "reference.json")
    (folder / "deployment.json").write_text(json.dumps({
        "name": NAME, "version_id": f"{NAME}-v1", "task": "binary", "classes": [0, 1], "positive_class": 1, "threshold": 0.5,
        "protected": [PROTECTED], "favorable": 0, "reference_file": "reference.json",
        "calibration": {"scores": [0.0, 1.0], "rates": [0.0, 1.0]},
    }))
    with Workspace.open(home) as ws:
        ws.store.registry.add_version(VersionRecord(
            version_id=f"{NAME}-v1", name=NAME, created_at="2026-11-01T00:00:00", model_hash="x", metrics={"accuracy": 0.8},
            deployment_dir=str(folder), extra={"task": "binary", "protected": [PROTECTED]},
        ))
        ws.store.registry.set_traffic(Traffic(name=NAME, live=f"{NAME}-v1"), RegistryEvent(NAME, "promote", f"{NAME}-v1", "bench", "seed"))


def _chunks(total: int, now: float, chunk: int = 50_000, span: float = DAY) -> Any:
    """Events (and feedback) of ``total`` rows spread evenly over the ``span`` seconds before ``now``, oldest first."""
    from nb2prod.examples.credit import TARGET, make_credit_data
    from nb2prod.models import AuditEvent, Feedback

    rng = np.random.default_rng(0)
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        scenario = "none" if start < total // 2 else "economic_shift"  # drift arrives half-way through the day
        frame = make_credit_data(n, seed=start + 11, scenario=scenario)
        target = frame.pop(TARGET).to_numpy()
        z = (frame["debt_to_income"].to_numpy() * 4 + frame["late_payments_2y"].to_numpy() * 0.5 - 2.0)
        score = 1 / (1 + np.exp(-z))
        ts = now - span + (start + np.arange(n) + 0.5) * (span / total)
        latency = rng.gamma(2.0, 6.0, n)
        records = frame.to_dict(orient="records")
        events = [
            AuditEvent(request_id=f"r{start + i}", name=NAME, version_id=f"{NAME}-v1", ts=float(ts[i]), inputs=records[i],
                       output=int(score[i] >= 0.5), score=float(score[i]), latency_ms=float(latency[i]))
            for i in range(n)
        ]
        labelled = np.nonzero(rng.random(n) < 0.2)[0]
        feedback = [Feedback(request_id=f"r{start + i}", label=int(target[i]), ts=float(ts[i]) + 1) for i in labelled]
        yield events, feedback


def seed(home: Path, rows: int, now: float, batch: int) -> dict[str, float]:
    from nb2prod.store import Store

    _register(home)
    store = Store.open(f"sqlite:///{home / 'nb2prod.db'}")
    written, spent = 0, 0.0
    for events, feedback in _chunks(rows, now):
        started = time.perf_counter()
        for i in range(0, len(events), batch):
            store.audit.write(events[i : i + batch])
        spent += time.perf_counter() - started
        written += len(events)
        store.audit.add_feedback(feedback)
        print(f"  seeded {written:,} rows ({written / spent:,.0f} rows/s)", file=sys.stderr, flush=True)
    storage = store.audit.profiles.storage(NAME)
    store.close()
    return {"rows_per_s": written / spent, **storage}


def throughput(rows: int, now: float, batch: int, per_day: int) -> dict[str, float]:
    """Write the same rows (arriving at ``per_day`` rows a day) into two fresh stores, profiles on and off."""
    from nb2prod.store import Store

    events = [e for chunk, _ in _chunks(rows, now, span=DAY * rows / per_day) for e in chunk]
    out = {}
    for profiles in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            store = Store.open(f"sqlite:///{folder}/t.db")
            store.audit.profiling = profiles
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(events), batch):
                store.audit.write(events[i : i + batch])
            key = "profiles_on" if profiles else "profiles_off"
            out[key] = len(events) / (time.perf_counter() - started)
            out[key + "_per_cpu_s"] = len(events) / (time.process_time() - cpu)
            store.close()
    return out


def read(home: Path, source: str, now: float) -> dict[str, float]:
    """Run in a fresh process: time the monitoring calls, report peak RSS."""
    from nb2prod.api import Workspace
    from nb2prod.monitor.snapshot import drift_series, monitor_snapshot, monitor_with_series

    with Workspace.open(home) as ws:
        timings: dict[str, float] = {}
        started, cpu = time.perf_counter(), time.process_time()
        report = monitor_snapshot(ws.store, NAME, window="1d", until=now, source=source)
        timings["first_monitor_s"] = time.perf_counter() - started  # profiles: includes rolling the day's 24 hour rollups
        timings["first_monitor_cpu_s"] = time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        monitor_snapshot(ws.store, NAME, window="1d", until=now, source=source)
        timings["monitor_s"] = time.perf_counter() - started
        timings["monitor_cpu_s"] = time.process_time() - cpu
        started = time.perf_counter()
        series = drift_series(ws.store, NAME, window="1d", points=24, until=now, source=source)
        timings["drift_series_s"] = time.perf_counter() - started  # first read of the series in this process
        started = time.perf_counter()
        drift_series(ws.store, NAME, window="1d", points=24, until=now, source=source)
        timings["drift_series_refresh_s"] = time.perf_counter() - started  # a panel refresh: past hours' drift is kept
        started, cpu = time.perf_counter(), time.process_time()
        monitor_snapshot(ws.store, NAME, window="1d", until=now, source=source)
        drift_series(ws.store, NAME, window="1d", points=24, until=now, source=source)
        timings["panel_refresh_s"] = time.perf_counter() - started
        timings["panel_refresh_cpu_s"] = time.process_time() - cpu
        if source == "profiles":  # the dashboard's one read: report + series from the same profiles
            started, cpu = time.perf_counter(), time.process_time()
            monitor_with_series(ws.store, NAME, window="1d", points=24, until=now)
            timings["one_read_refresh_s"] = time.perf_counter() - started
            timings["one_read_refresh_cpu_s"] = time.process_time() - cpu
            from nb2prod.server.dashboard import dashboard  # the REST route's work, without tornado's request handling

            _pin_clock(now)
            started, cpu = time.perf_counter(), time.process_time()
            answer = dashboard(ws, NAME, window="1d")
            timings["dashboard_s"] = time.perf_counter() - started
            timings["dashboard_cpu_s"] = time.process_time() - cpu
            timings["dashboard_server_ms"] = answer["server_ms"]
        timings["n"] = report.n
        timings["points"] = len(series)
        timings["drifted"] = sorted(report.drift.drifted) if report.drift else []  # type: ignore[assignment]
    timings["peak_rss_mb"] = _peak_rss_mb()
    return timings


def _pin_clock(now: float) -> None:
    """Make the dashboard route read the seeded day: it asks the clock for its window's end, and a kept day
    re-read hours later would otherwise be a part of a day."""
    import types

    import nb2prod.monitor.snapshot as snapshot

    snapshot.time = types.SimpleNamespace(time=lambda: now, perf_counter=time.perf_counter)


def first_dashboard(home: Path, now: float) -> dict[str, float]:
    """Run in a fresh process: opening the store (a server's first request of any kind does it), then the dashboard
    route's first call (what a user opening the panel after a restart waits for beyond that) and a second call."""
    from nb2prod.api import Workspace
    from nb2prod.server.dashboard import dashboard

    _pin_clock(now)
    timings: dict[str, float] = {}
    with Workspace.open(home) as ws:
        started, cpu = time.perf_counter(), time.process_time()
        ws.store  # noqa: B018 - opening it is what is timed (its modules and SQLAlchemy are imported here)
        timings["store_open_s"] = time.perf_counter() - started
        timings["store_open_cpu_s"] = time.process_time() - cpu
        for key in ("dashboard_first", "dashboard_second"):
            started, cpu = time.perf_counter(), time.process_time()
            dashboard(ws, NAME, window="1d")
            timings[key + "_s"] = time.perf_counter() - started
            timings[key + "_cpu_s"] = time.process_time() - cpu
    return timings


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM of its address space).

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that over an exec from the process that
    forked it, so a reader started by this script would report the seeding parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(home: Path, source: str, now: float, *, first: bool = False) -> dict[str, Any]:
    extra = ["--first-dashboard"] if first else []
    out = subprocess.run([sys.executable, __file__, "--read", str(home), "--source", source, "--now", str(now), *extra],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--row-path-max", type=int, default=200_000)
    parser.add_argument("--throughput-rows", type=int, default=50_000)
    parser.add_argument("--throughput-only", action="store_true")
    parser.add_argument("--read", type=Path)
    parser.add_argument("--source", default="profiles")
    parser.add_argument("--now", type=float)
    parser.add_argument("--first-dashboard", action="store_true", help="with --read: time the dashboard route's first call only")
    parser.add_argument("--keep", type=Path, help="seed into this (new or empty) folder and keep it; one --rows value")
    parser.add_argument("--reread", type=Path, help="re-time the reads of a folder seeded with --keep; no seeding")
    args = parser.parse_args()
    if args.read is not None:
        print(json.dumps(first_dashboard(args.read, args.now) if args.first_dashboard else read(args.read, args.source, args.now)))
        return
    if args.reread is not None:
        _reread(args.reread, args.row_path_max)
        return
    if args.keep is not None and len(args.rows) != 1:
        parser.error("--keep seeds one size: give one --rows value")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: folder is not empty; re-measure it with --reread {args.keep} or pick a new folder")
    now = float(int(time.time() // 60) * 60)
    print(f"load average at start: {Path('/proc/loadavg').read_text().split()[:3]} (shared machine)")
    per_day = max(args.rows)
    tp = throughput(args.throughput_rows, now, args.batch, per_day)
    print(f"write throughput ({args.throughput_rows:,} rows arriving at {per_day:,} a day, batches of {args.batch}): "
          f"profiles off {tp['profiles_off']:,.0f} rows/s ({tp['profiles_off_per_cpu_s']:,.0f} per CPU-s), "
          f"on {tp['profiles_on']:,.0f} rows/s ({tp['profiles_on_per_cpu_s']:,.0f} per CPU-s; "
          f"ratio {tp['profiles_on'] / tp['profiles_off']:.2f})", flush=True)
    if args.throughput_only:
        return
    results = {}
    for rows in args.rows:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            seeded = seed(args.keep, rows, now, args.batch)
            (args.keep / "seeded.json").write_text(json.dumps({"rows": rows, "now": now, "seed": seeded}))
            prof, exact = _measure(args.keep, rows, now, args.row_path_max)
        else:
            with tempfile.TemporaryDirectory() as folder:
                seeded = seed(Path(folder), rows, now, args.batch)
                prof, exact = _measure(Path(folder), rows, now, args.row_path_max)
        results[rows] = {"seed": seeded, "profiles": prof, "rows": exact}
        _print_line(rows, seeded, prof, exact)
    print(f"load average at end: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(json.dumps({str(k): v for k, v in results.items()}))


def _measure(home: Path, rows: int, now: float, row_path_max: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    prof = _child(home, "profiles", now)
    prof.update(_child(home, "profiles", now, first=True))  # after the reads above rolled the day's hours up
    exact = _child(home, "rows", now) if rows <= row_path_max else None
    if exact is not None:  # the row path has no first-call cost: its "first" call is a plain call
        exact["monitor_s"] = min(exact["monitor_s"], exact["first_monitor_s"])
    return prof, exact


def _reread(home: Path, row_path_max: int) -> None:
    meta_file = home / "seeded.json"
    if not meta_file.is_file():
        sys.exit(f"--reread {home}: no seeded.json there; seed the folder first with --rows N --keep {home}")
    meta = json.loads(meta_file.read_text())
    print(f"load average at start: {Path('/proc/loadavg').read_text().split()[:3]} (shared machine)")
    prof, exact = _measure(home, meta["rows"], meta["now"], row_path_max)
    _print_line(meta["rows"], meta["seed"], prof, exact)
    print(f"load average at end: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(json.dumps({str(meta["rows"]): {"seed": meta["seed"], "profiles": prof, "rows": exact}}))


def _print_line(rows: int, seeded: dict[str, float], prof: dict[str, Any], exact: dict[str, Any] | None) -> None:
    line = (f"{rows:>10,} rows: monitor {prof['monitor_s']:.3f} s (cpu {prof['monitor_cpu_s']:.3f} s; first call, rolling "
            f"the hours, {prof['first_monitor_s']:.3f} s), drift_series(24) {prof['drift_series_s']:.3f} s (refresh {prof['drift_series_refresh_s']:.3f} s), "
            f"panel refresh {prof['panel_refresh_s']:.3f} s (cpu {prof['panel_refresh_cpu_s']:.3f} s), "
            f"one-read refresh {prof['one_read_refresh_s']:.3f} s (cpu {prof['one_read_refresh_cpu_s']:.3f} s), "
            f"dashboard route {prof['dashboard_s']:.3f} s (cpu {prof['dashboard_cpu_s']:.3f} s; in a fresh process: opening the store "
            f"{prof['store_open_s']:.3f} s, then the first call {prof['dashboard_first_s']:.3f} s (cpu {prof['dashboard_first_cpu_s']:.3f} s), "
            f"its second call {prof['dashboard_second_s']:.3f} s), "
            f"peak RSS {prof['peak_rss_mb']:.0f} MB, "
            f"{seeded['bytes_per_bucket'] / 1024:.1f} KB per bucket, seeded at {seeded['rows_per_s']:,.0f} rows/s")
    if exact is not None:
        line += (f" | rows path: monitor {exact['monitor_s']:.3f} s, drift_series {exact['drift_series_s']:.3f} s, "
                 f"peak RSS {exact['peak_rss_mb']:.0f} MB; same drifted columns: {exact['drifted'] == prof['drifted']}")
    print(line, flush=True)


if __name__ == "__main__":
    main()
