"""The durable audit log: fsync'd spool, batched drain to the store, orphan replay, idempotency."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from nb2prod.runtime import AuditWriter, StoreHandle, replay_spool
from nb2prod.runtime.spool import Spool, encode_record, parse_lines
from nb2prod.store import Store


def record(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "request_id": f"r{i:06d}",
        "name": "credit",
        "version_id": "credit-v1",
        "ts": 1_700_000_000.0 + i,
        "inputs": {"age": 30 + i % 40, "purpose": "car"},
        "output": i % 2,
        "score": 0.25,
        "probabilities": [0.75, 0.25],
        "latency_ms": 1.5,
        "fallback": False,
        "violations": [],
        **extra,
    }


def test_parse_lines_skips_torn_tail_and_garbage() -> None:
    chunk = encode_record(record(1)) + b"not json\n" + encode_record(record(2)) + b'{"request_id": "r3", "na'
    records, consumed, bad = parse_lines(chunk)
    assert [r["request_id"] for r in records] == ["r000001", "r000002"]
    assert bad == 1 and consumed == len(chunk) - len(b'{"request_id": "r3", "na')


def test_append_drain_flush_and_delete_spool(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    writer = AuditWriter(tmp_path / "spool", StoreHandle(url)).start()
    for start in range(0, 1000, 100):
        writer.append([record(i) for i in range(start, start + 100)])
    assert writer.flush(10)
    assert writer.stats()["written"] == 1000 and writer.pending == 0
    assert writer.close()
    assert list((tmp_path / "spool").glob("*.jsonl")) == []  # drained segments are deleted
    with Store.open(url) as store:
        assert store.audit.count("credit") == 1000
        assert store.audit.get("r000999").inputs == {"age": 30 + 999 % 40, "purpose": "car"}


def test_rotation_retires_drained_segments(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    writer = AuditWriter(tmp_path / "spool", StoreHandle(url))
    writer.spool = Spool(tmp_path / "spool", max_segment_bytes=4096)
    writer.start()
    for i in range(300):
        writer.append([record(i)])
    assert writer.flush(10)
    assert len(list((tmp_path / "spool").glob("*.jsonl"))) == 1  # only the active segment remains
    writer.close()
    with Store.open(url) as store:
        assert store.audit.count() == 300


def test_unreachable_store_keeps_rows_spooled_then_drains(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the database folder should be")
    handle = StoreHandle(f"sqlite:///{blocker / 'a.db'}")
    writer = AuditWriter(tmp_path / "spool", handle, poll_s=0.02).start()
    writer.append([record(i) for i in range(50)])
    assert not writer.flush(0.5)
    assert writer.pending == 50 and writer.stats()["last_error"]
    handle.url = f"sqlite:///{tmp_path / 'ok.db'}"  # the database comes back
    assert writer.flush(10)
    writer.close()
    with Store.open(handle.url) as store:
        assert store.audit.count() == 50


def test_orphan_segments_of_dead_writers_are_replayed_once(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    # a dead process's segment: acknowledged rows plus a torn, unacknowledged tail
    body = b"".join(encode_record(record(i)) for i in range(20)) + b'{"request_id":"r999'
    (spool / "host-1-1.jsonl").write_bytes(body)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with Store.open(url) as store:
        store.audit.write([])  # create tables
        assert replay_spool(spool, store) == 20
        assert store.audit.count() == 20
        assert not (spool / "host-1-1.jsonl").exists()
        # replaying the same rows again (a crash mid-replay) inserts nothing twice
        (spool / "again.jsonl").write_bytes(body)
        replay_spool(spool, store)
        assert store.audit.count() == 20


def test_live_writer_segment_is_not_an_orphan(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    writer = AuditWriter(tmp_path / "spool", StoreHandle(url), orphan_scan_s=3600).start()
    writer.append([record(1)])
    assert writer.flush(10)
    with Store.open(url) as store:
        # another process scanning the folder must not take a live writer's segment
        assert replay_spool(tmp_path / "spool", store) == 0
    [segment] = (tmp_path / "spool").glob("*.jsonl")
    assert f"-{os.getpid()}-" in segment.name and b"r000001" in segment.read_bytes()
    writer.close()


def test_writer_replays_orphans_at_start(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "dead-2-2.jsonl").write_bytes(b"".join(encode_record(record(i)) for i in range(7)))
    url = f"sqlite:///{tmp_path / 'a.db'}"
    writer = AuditWriter(spool, StoreHandle(url)).start()
    deadline = time.monotonic() + 10
    while writer.replayed < 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.close()
    with Store.open(url) as store:
        assert store.audit.count() == 7


def test_rows_the_database_refuses_are_kept_aside(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    writer = AuditWriter(tmp_path / "spool", StoreHandle(url)).start()
    writer.append([record(1), {**record(2), "version_id": None}, record(3)])  # NOT NULL violated by row 2
    assert writer.flush(10)
    writer.close()
    with Store.open(url) as store:
        assert store.audit.count() == 2
    kept = (tmp_path / "spool" / "rejected.jsonl").read_text()
    assert "r000002" in kept and "_refused" in kept


@pytest.mark.postgres
def test_audit_writer_against_postgresql(tmp_path: Path) -> None:
    url = os.environ.get("NB2PROD_TEST_PG_URL")
    if not url:
        pytest.skip("NB2PROD_TEST_PG_URL is not set (.ci/run starts PostgreSQL and sets it)")
    import sqlalchemy as sa

    prefix = f"pg{os.getpid()}x"
    writer = AuditWriter(tmp_path / "spool", StoreHandle(url)).start()
    writer.append([record(i, request_id=f"{prefix}{i}") for i in range(500)])
    writer.append([record(1, request_id=f"{prefix}1")])  # a replayed duplicate is ignored
    assert writer.flush(20)
    writer.close()
    with Store.open(url) as store:
        assert store.engine.dialect.name == "postgresql"
        with store.engine.connect() as conn:
            query = sa.text("select count(*) from predictions where request_id like :p")
            assert conn.execute(query, {"p": f"{prefix}%"}).scalar_one() == 500
        assert store.audit.get(f"{prefix}42").inputs["purpose"] == "car"
