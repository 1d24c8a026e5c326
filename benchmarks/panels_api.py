"""What the drift panel costs the server, per refresh.

Seeds a workspace like the server tests do (reference sketch + N audit rows over a day) and
times, in the same run:

- ``Workspace.drift_series(points=12)`` — the panel's per-feature series: one load of the window's
  profiles (written at ingest), 12 sub-window drift computations from merged profiles;
- baseline: 12 separate ``Workspace.drift(window=..., until=...)`` calls over the same
  sub-windows, each loading its own profiles (what a client without the series route would do);
  ``benchmarks/monitor_scale.py`` compares profiles with the exact row path at 100k–1M rows;
- ``Workspace.monitor(window="1d")`` and ``Workspace.deployments()`` — the other two requests of a refresh.

Usage: ``python benchmarks/panels_api.py [rows]`` (default 20 000).
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))

from panel_seed import seed_monitoring, seed_registry

from nb2prod.api import Workspace
from nb2prod.errors import Nb2prodError


def _best(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times) if repeat < 3 else statistics.median(times)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp))
        seed_registry(ws)
        seed_monitoring(ws, ws.settings.home, n_live=rows)
        until = time.time()
        width = 86_400 / 12

        def baseline() -> None:
            for i in range(12):
                with contextlib.suppress(Nb2prodError):  # a sub-window without rows: the series leaves it out too
                    ws.drift("monitored", window=f"{width:.0f}s", until=until - 86_400 + (i + 1) * width)

        series = _best(lambda: ws.drift_series("monitored", window="1d", points=12, until=until))
        separate = _best(baseline)
        monitor = _best(lambda: ws.monitor("monitored", window="1d", until=until))
        listing = _best(ws.deployments)
        ws.close()
    print(f"audit rows: {rows}")
    print(f"drift_series(points=12): {series * 1000:.0f} ms")
    print(f"12 x drift() baseline:   {separate * 1000:.0f} ms  (ratio baseline / series {separate / series:.1f}x)")
    print(f"monitor(window=1d):      {monitor * 1000:.0f} ms")
    print(f"deployments():           {listing * 1000:.1f} ms")


if __name__ == "__main__":
    main()
