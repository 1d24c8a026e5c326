"""Restart after kill -9: how long `nb2prod serve`'s start path takes to be ready again on the same port.

Starts the example credit service through nb2prod's own start path (port check, token, rotating
log, /readyz wait), sends a few keep-alive requests, kills the whole server tree with SIGKILL,
then starts it again on the same port. Prints the cold start (baseline, same run), the restart,
and their ratio; before the SO_REUSEADDR port check the restart was refused as "port in use" for
the ~60 s TIME_WAIT. The machine is shared: compare the ratio, and note the load average printed.

    .venv/bin/python benchmarks/serve_restart.py [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests" / "runtime")]

import httpx  # noqa: E402
import psutil  # noqa: E402
from runtime_folder import build_deployment, render_service, sample_rows  # noqa: E402
from service_proc import free_port  # noqa: E402

from nb2prod.models import VersionRecord  # noqa: E402
from nb2prod.package.serving import port_free, start_service, wait_ready  # noqa: E402
from nb2prod.settings import Settings  # noqa: E402


def _kill_tree(pid: int, sig: int) -> None:
    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)
    psutil.wait_procs(tree, timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="nb2prod-restart-"))
    folder = build_deployment(home / "deployments", timeout_ms=2000)
    render_service(folder)
    settings = Settings(home=home, store_url=f"sqlite:///{home / 'nb2prod.db'}", bentoml_home=home / "bentoml")
    record = VersionRecord(version_id="credit-v1", name="credit", created_at="-", model_hash="-", deployment_dir=str(folder))
    port = free_port()
    row = sample_rows(folder)[0]
    cold: list[float] = []
    restart: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        process, info = start_service(settings, record, host="127.0.0.1", port=port, service_class="CreditService")
        wait_ready(settings, record, process, info, timeout_s=180)
        (restart if cold else cold).append(time.perf_counter() - start)
        with httpx.Client(timeout=30) as http:
            for _ in range(20):
                http.post(f"{info.url}/predict", json={"features": row})
        _kill_tree(process.pid, signal.SIGKILL)
        process.wait(30)
        assert port_free("127.0.0.1", port), "the port check still says 'in use' after kill -9"
    load = Path("/proc/loadavg").read_text().split()[:3]
    result = {
        "cold_start_s": round(cold[0], 2),
        "restart_after_kill9_s": [round(v, 2) for v in restart],
        "restart_median_s": round(statistics.median(restart), 2) if restart else None,
        "ratio_restart_to_cold": round(statistics.median(restart) / cold[0], 2) if restart else None,
        "loadavg": load,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
