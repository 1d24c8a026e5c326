"""Writing shadow answers onto stored rows: what folding them into the profiles costs.

The shadow runner writes a batch of answers (up to 1000, at most every 0.25 s) onto rows the audit
writer already stored. Times, per batch and in the same run, alternating which goes first:

* the baseline: the UPDATE the runner issued before (``shadow_output``/``shadow_score``/``shadow_error``
  by request id, one executemany; vendored here as it was) — the rows only, the profiles never saw it;
* ``AuditLog.write_shadow``: read the rows, write the answers not yet written, fold them into the
  profile of each row's minute bucket and drop its hour rollup, in one transaction.

Each round writes fresh rows (an answer is written once), spread over ``--minutes`` buckets.

    .venv/bin/python benchmarks/shadow_write.py [--batch 1000] [--rounds 10] [--minutes 2] [--url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from nb2prod.models import AuditEvent
from nb2prod.store import Store
from nb2prod.store import tables as t


def _rows(name: str, n: int, start: float, minutes: int) -> list[AuditEvent]:
    return [AuditEvent(request_id=uuid.uuid4().hex, name=name, version_id="v1", ts=start + (i % (60 * minutes)),
                       inputs={"income": float(i % 997), "age": i % 80, "region": ("north", "south", "east")[i % 3]},
                       output=i % 2, score=0.1 + 0.8 * (i % 2), shadow_version="v2") for i in range(n)]


def _answers(rows: list[AuditEvent]) -> list[dict[str, Any]]:
    return [{"request_id": r.request_id, "output": (i // 3) % 2, "score": 0.2 + 0.6 * ((i // 3) % 2),
             "error": "ValueError: refused" if i % 50 == 7 else None} for i, r in enumerate(rows)]


def _old_update(store: Store, answers: list[dict[str, Any]]) -> None:
    """The runner's write before: one UPDATE by request id, no profile."""
    statement = t.predictions.update().where(t.predictions.c.request_id == sa.bindparam("b_request_id")).values(
        shadow_output=sa.bindparam("b_output", type_=t.predictions.c.shadow_output.type),
        shadow_score=sa.bindparam("b_score"), shadow_error=sa.bindparam("b_error"))
    with store.engine.begin() as conn:
        conn.execute(statement, [{"b_request_id": a["request_id"], "b_output": a["output"], "b_score": a["score"],
                                  "b_error": a["error"]} for a in answers])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--minutes", type=int, default=2, help="minute buckets one batch's rows span")
    parser.add_argument("--url", default=None, help="store URL (default: a SQLite file in a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'nb2prod.db'}"
        store = Store.open(url)
        name = f"bench-{uuid.uuid4().hex[:6]}"
        start = time.time() - 3600
        timings: dict[str, list[float]] = {"old UPDATE (rows only)": [], "write_shadow (rows + profiles)": []}
        for round_ in range(args.rounds):
            order = list(timings) if round_ % 2 == 0 else list(reversed(timings))
            for label in order:
                rows = _rows(name, args.batch, start + round_ * 60 * args.minutes, args.minutes)
                store.audit.write(rows)
                answers = _answers(rows)
                began = time.perf_counter()
                if label.startswith("old"):
                    _old_update(store, answers)
                else:
                    assert store.audit.write_shadow(answers) == len(answers)
                timings[label].append(time.perf_counter() - began)
        store.close()
    base = statistics.median(timings["old UPDATE (rows only)"])
    load = os.getloadavg()
    print(f"{args.rounds} rounds of {args.batch} answers over {args.minutes} minute bucket(s), {url.split(':')[0]}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for label, values in timings.items():
        median = statistics.median(values)
        print(f"  {label:32s} median {median * 1000:7.1f} ms per batch  {median / args.batch * 1e6:6.1f} µs per answer  "
              f"{median / base:5.2f}x the old UPDATE")


if __name__ == "__main__":
    main()
