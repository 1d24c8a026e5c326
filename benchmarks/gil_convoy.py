"""One model batch's wall time while another thread keeps the GIL busy, at CPython's 5 ms switch interval and at 1 ms.

The served runtime computes batches in its model thread while the event loop parses requests; each time
the model thread leaves the GIL (a tree ensemble's C loop, numpy, an fsync) it waits up to one switch
interval to get it back. ``GuardedRuntime.start`` sets 1 ms; this measures why, on the example pipeline
(compiled predict path, 32-row batches), alternating the two settings in one run.

Usage: ``.venv/bin/python benchmarks/gil_convoy.py [--rounds 3]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests" / "runtime")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from runtime_folder import build_deployment, sample_rows
    from threadpoolctl import threadpool_limits

    from nb2prod.runtime import build_schema, load_spec
    from nb2prod.runtime.loading import load_model
    from nb2prod.runtime.predictor import Predictor

    threadpool_limits(1)
    folder = build_deployment(Path(tempfile.mkdtemp(prefix="nb2prod-convoy-")))
    spec = load_spec(folder)
    rows = build_schema(spec).validate_rows([{k: r.get(k) for k in spec.feature_names} for r in sample_rows(folder)])
    predictor = Predictor(load_model(folder), spec)
    predictor.use_fast_path(rows)
    batch = (rows * 4)[:32]
    stop = threading.Event()

    def busy() -> None:  # pure-Python work, as an event loop parsing many connections
        x = 0
        while not stop.is_set():
            for i in range(1000):
                x += i

    def measure(n: int = 80) -> tuple[float, float]:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            predictor.predict_rows(batch)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        return round(times[n // 2], 1), round(times[int(n * 0.95)], 1)

    print(f"load average {os.getloadavg()}; no competing thread: p50/p95 {measure()} ms")
    competitor = threading.Thread(target=busy, daemon=True)
    competitor.start()
    print("| round | switch interval | p50 ms | p95 ms |\n|---|---|---|---|")
    for round_ in range(1, args.rounds + 1):
        for interval in (0.005, 0.001):
            sys.setswitchinterval(interval)
            p50, p95 = measure()
            print(f"| {round_} | {interval * 1000:g} ms | {p50} | {p95} |", flush=True)
    stop.set()
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
