"""Cost of `import nb2prod` (target <= 0.3 s) against a bare interpreter, same run.

Prints the median wall time of N fresh interpreters doing `import nb2prod` vs `pass`, the
difference (nb2prod's own cost), and which heavy libraries got loaded (must be none).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

N = 15
HEAVY = ["bentoml", "evidently", "papermill", "jupyter_server", "ipywidgets", "sklearn", "pandas", "sqlalchemy"]


def _median_seconds(code: str) -> float:
    times = []
    for _ in range(N):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    bare = _median_seconds("pass")
    package = _median_seconds("import nb2prod")
    cli = _median_seconds("import nb2prod.cli")
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, json, nb2prod; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    print(f"bare interpreter           {bare * 1000:7.1f} ms (median of {N})")
    print(f"import nb2prod             {package * 1000:7.1f} ms  → own cost {(package - bare) * 1000:6.1f} ms (target <= 300 ms)")
    print(f"import nb2prod.cli         {cli * 1000:7.1f} ms  → own cost {(cli - bare) * 1000:6.1f} ms")
    print(f"heavy libraries loaded by import nb2prod: {json.loads(loaded) or 'none'}")


if __name__ == "__main__":
    main()
