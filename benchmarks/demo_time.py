"""Wall time of the README's end-to-end demo (target: under 5 minutes on 2 cores).

Runs `nb2prod demo` in a fresh temporary NB2PROD_HOME and, as the baseline in the same run, one
plain `nb2prod run` of the example notebook with the same n_samples (papermill + lint only).
Prints both wall times, their ratio, and whether the demo left a service process behind.

    .venv/bin/python benchmarks/demo_time.py [--samples 3000] [--traffic 300]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB2PROD = Path(sys.executable).parent / "nb2prod"


def _timed(args: list[str], home: Path) -> tuple[float, int]:
    env = {**os.environ, "NB2PROD_HOME": str(home), "BENTOML_HOME": str(home / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"}
    env.pop("NB2PROD_STORE_URL", None)
    started = time.perf_counter()
    done = subprocess.run([str(NB2PROD), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--traffic", type=int, default=300)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base, base_rc = _timed(["run", "example_notebooks/credit_default.ipynb", "-p", "n_samples", str(opts.samples),
                                "--no-progress"], Path(tmp) / "baseline")
        demo, demo_rc = _timed(["demo", "--samples", str(opts.samples), "--traffic", str(opts.traffic)], Path(tmp) / "demo")
        leftover = list((Path(tmp) / "demo" / "deployments").glob("*/*/serve.json"))
    print(f"baseline `nb2prod run` (papermill + lint): {base:7.1f} s  (exit {base_rc})")
    print(f"`nb2prod demo` end to end:                 {demo:7.1f} s  (exit {demo_rc}; target < 300 s)")
    print(f"ratio demo / single papermill run:          {demo / base:7.1f}x")
    print(f"services left running after the demo:       {len(leftover)}")


if __name__ == "__main__":
    main()
