"""Garbage-collector pauses inside a loaded guarded runtime under load, with and without freezing start-up objects.

A full (generation 2) collection walks every tracked object; a loaded service holds ~285,000 of them
(BentoML, scikit-learn, pandas, the model), so one collection holds the GIL for hundreds of ms and every
thread of the service stalls. ``GuardedRuntime.start`` freezes what is loaded (``gc.freeze``) so that
serving allocations alone are scanned. This drives the in-process runtime (``apredict``, 16 callers,
audit on) in two child processes — ``NB2PROD_GC_FREEZE=0`` and the default — and reports every
collection's pause by generation.

Usage: ``.venv/bin/python benchmarks/gc_pauses.py [--requests 6000]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import asyncio, gc, json, sys, tempfile, time
from pathlib import Path
sys.path[:0] = [sys.argv[1]]
from runtime_folder import build_deployment, sample_rows
from nb2prod.runtime import GuardedRuntime

folder = build_deployment(Path(tempfile.mkdtemp(prefix="nb2prod-gc-")))
rows = sample_rows(folder)
work = Path(tempfile.mkdtemp(prefix="nb2prod-gc-store-"))
rt = GuardedRuntime.load(folder, store_url=f"sqlite:///{work / 'a.db'}", spool_dir=work / "spool")
pauses = {0: [], 1: [], 2: []}
started = {}

def watch(phase, info):
    if phase == "start":
        started["t"] = time.perf_counter()
    else:
        pauses[info["generation"]].append((time.perf_counter() - started["t"]) * 1000)

async def drive(n):
    sem = asyncio.Semaphore(16)
    async def one(i):
        async with sem:
            await rt.apredict([rows[i % len(rows)]])
    await asyncio.gather(*(one(i) for i in range(n)))

gc.callbacks.append(watch)
t = time.perf_counter()
asyncio.run(drive(int(sys.argv[2])))
elapsed = time.perf_counter() - t
gc.callbacks.remove(watch)
rt.close()
print("RESULT " + json.dumps({"tracked_after_load": len(gc.get_objects()), "frozen": gc.get_freeze_count(),
      "seconds": round(elapsed, 2),
      "by_generation": {g: {"count": len(v), "max_ms": round(max(v), 1) if v else 0, "total_ms": round(sum(v), 1)}
                        for g, v in pauses.items()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    args = parser.parse_args()
    print(f"load average before {os.getloadavg()}")
    print("| gc.freeze at start | requests | seconds | gen 2 collections | gen 2 max pause ms | all pauses total ms |")
    print("|---|---|---|---|---|---|")
    for label, env in (("off (NB2PROD_GC_FREEZE=0)", {"NB2PROD_GC_FREEZE": "0"}), ("on (default)", {})):
        out = subprocess.run([sys.executable, "-c", CHILD, str(HERE.parent / "tests" / "runtime"), str(args.requests)],
                             env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout  # fmt: skip
        result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
        gens = result["by_generation"]
        total = sum(g["total_ms"] for g in gens.values())
        print(f"| {label} | {args.requests} | {result['seconds']} | {gens['2']['count']} | {gens['2']['max_ms']} | {round(total, 1)} |",
              flush=True)  # fmt: skip
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
