"""Opening the store: does checking the schema revision on open cost anything?

Times ``Store.open(url)`` + ``close()`` on a store already at head (the every-day case: each CLI
command, each service start, each audit-writer reconnect) against, in the same run:

* the floor: ``open_engine(url)`` and one ``SELECT 1`` (a connection, nothing checked);
* the open path before migrations: ``create_all`` + the column scan it did on every open (vendored
  here, as it was);

then the one-off costs: creating a new store, and the first open of a store written by the release
before migrations (stamp + upgrade) with ``--rows`` audit rows.

    .venv/bin/python benchmarks/store_open.py [--repeat 200] [--rows 100000] [--url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))

from nb2prod.store import Store
from nb2prod.store.engine import open_engine
from nb2prod.store.tables import metadata


def _old_open(url: str) -> None:
    """The open path before migrations: create_all, then add nullable columns an older store lacks."""
    engine = open_engine(url)
    metadata.create_all(engine)
    inspector = sa.inspect(engine)
    existing = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name in existing:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            assert not [c for c in table.columns if c.name not in present and c.nullable]
    engine.dispose()


def _floor(url: str) -> None:
    engine = open_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    engine.dispose()


def _new_open(url: str) -> None:
    Store.open(url).close()


def _median_ms(fn: Callable[[str], None], url: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(url)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _old_release_store(url: str, rows: int) -> None:
    from release_schema import metadata_at

    old = metadata_at("0004")
    engine = open_engine(url)
    old.create_all(engine)
    p = old.tables["predictions"]
    batch = 5000
    with engine.begin() as conn:
        for start in range(0, rows, batch):
            conn.execute(p.insert(), [
                {"request_id": f"r{i}", "name": "credit", "version_id": "credit-v1", "ts": 1.7e9 + i, "inputs": {"age": i % 90},
                 "output": i % 2, "score": 0.5, "fallback": False, "arm": "live", "client_request_id": f"c{i}"}
                for i in range(start, min(start + batch, rows))
            ])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", default=os.environ.get("NB2PROD_TEST_PG_URL"), help="also measure this (existing, PostgreSQL) database")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        urls = {"sqlite": f"sqlite:///{Path(folder) / 'head.db'}"}
        if args.url:
            urls["postgresql"] = args.url
        for label, url in urls.items():
            Store.open(url).close()  # at head
            for fn in (_floor, _old_open, _new_open):  # warm imports and caches
                fn(url)
            floor, old, new = (_median_ms(fn, url, args.repeat) for fn in (_floor, _old_open, _new_open))
            print(f"{label}: open at head, median of {args.repeat}: floor {floor:.2f} ms · before migrations {old:.2f} ms · "
                  f"now {new:.2f} ms → now/before {new / old:.2f}x, now/floor {new / floor:.2f}x")
        fresh: dict[str, list[float]] = {"now": [], "before": []}
        for i in range(21):  # interleaved, so both see the same machine load
            for label, fn in (("now", _new_open), ("before", _old_open)):
                start = time.perf_counter()
                fn(f"sqlite:///{Path(folder) / f'fresh-{label}{i}.db'}")
                fresh[label].append(time.perf_counter() - start)
        now, before = (statistics.median(fresh[k][1:]) * 1000 for k in ("now", "before"))
        print(f"sqlite: new store, median of 20: before migrations (create_all) {before:.1f} ms · now (create_all + stamp) {now:.1f} ms "
              f"→ {now / before:.2f}x; the first in a process {fresh['now'][0] * 1000:.0f} ms (imports Alembic)")
        old_url = f"sqlite:///{Path(folder) / 'release.db'}"
        _old_release_store(old_url, args.rows)
        start = time.perf_counter()
        Store.open(old_url).close()
        upgraded = time.perf_counter() - start
        start = time.perf_counter()
        Store.open(old_url).close()
        print(f"sqlite: first open of a store from the release before migrations, {args.rows} audit rows: {upgraded * 1000:.0f} ms "
              f"(stamp 0004 + upgrade); the next open {(time.perf_counter() - start) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
