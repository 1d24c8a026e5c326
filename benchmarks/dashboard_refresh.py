"""What one refresh of the monitoring dashboard costs the server, on a day of traffic.

Seeds a workspace like the server tests do (reference sketch + N audit rows over a day, half
labelled, a protected attribute) and times, in the same run:

- ``dashboard(window="1d")`` — the one request of a dashboard refresh (monitor report with 24
  hourly buckets, 24-point per-feature drift series, alerts, judgements), as the REST route runs it;
- ``dashboard(window="1h")`` — the same over the last hour;
- baseline: the three requests the Drift side panel made per refresh before (monitor with 12
  windows, drift series with 12 points, alerts), one after the other.

Usage: ``python benchmarks/dashboard_refresh.py [rows]`` (default 20 000). Prints medians of 3.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))

from panel_seed import seed_monitoring

from nb2prod.api import Workspace
from nb2prod.server.dashboard import dashboard


def _median(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp))
        seed_monitoring(ws, ws.settings.home, n_live=rows)

        def baseline() -> None:
            ws.monitor("monitored", window="1d", n_windows=12)
            ws.drift_series("monitored", window="1d", points=12)
            ws.alerts("monitored", limit=20)

        day = _median(lambda: dashboard(ws, "monitored", window="1d"))
        hour = _median(lambda: dashboard(ws, "monitored", window="1h"))
        separate = _median(baseline)
        answer = dashboard(ws, "monitored", window="1d")
        ws.close()
    load_after = os.getloadavg()
    print(f"audit rows over a day: {rows}")
    print(f"dashboard refresh, 1d window ({answer['points']} buckets): {1000 * day:.0f} ms (server_ms of one more call: {answer['server_ms']:.0f})")
    print(f"dashboard refresh, 1h window: {1000 * hour:.0f} ms")
    print(f"baseline, Drift panel's 3 requests at 12 points: {1000 * separate:.0f} ms  (dashboard / baseline: {day / separate:.2f}x)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores, shared machine)")


if __name__ == "__main__":
    main()
