"""The audit drainer process: the spool copied into the store outside the serving process, nothing
lost and nothing doubled across a kill -9 of either process, its death visible in the writer's health."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_audit_writer import record  # tests/runtime is on sys.path (rootdir import mode)

from nb2prod.runtime import AuditWriter, StoreHandle, replay_spool
from nb2prod.runtime.drainer import drain_spool
from nb2prod.runtime.drainer_child import drainer_mode
from nb2prod.runtime.spool import Spool, read_progress
from nb2prod.store import Store


def _profile_count(store: Store) -> int:
    return sum(b.profile.n for b in store.audit.profiles.buckets("credit"))


def _wait(predicate, what: str, limit: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_drainer_mode_is_read_from_the_environment() -> None:
    assert drainer_mode({}) == "thread"
    assert drainer_mode({"NB2PROD_AUDIT_DRAINER": "Process"}) == "process"
    with pytest.raises(Exception, match="NB2PROD_AUDIT_DRAINER='fork' is not a drainer mode"):
        drainer_mode({"NB2PROD_AUDIT_DRAINER": "fork"})


def test_tailing_a_live_segment_then_replaying_it_again_stores_each_row_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    spool = Spool(tmp_path / "spool").open()
    spool.append([record(i) for i in range(300)])
    with Store.open(url) as store:
        assert drain_spool(spool.folder, store, owner=os.getpid()) == 300
        segment = spool.pending_segments()[0]
        assert read_progress(segment.path)[1] == 300 and segment.path.exists()  # live: tailed, kept
        spool.append([record(i) for i in range(300, 400)])
        assert drain_spool(spool.folder, store, owner=os.getpid()) == 100  # from the saved offset
        segment.path.with_name(segment.path.name + ".drained").unlink()  # progress lost (a crash before it was saved)
        spool.close(drained=False)  # the writer is gone: an orphan, replayed from the start
        assert replay_spool(spool.folder, store) == 400
        assert store.audit.count("credit") == 400
        assert _profile_count(store) == 400  # a replayed row is not folded twice
    assert list(spool.folder.glob("*")) == []


def test_writer_in_process_mode_drains_through_its_child_and_survives_its_kill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    writer = AuditWriter(tmp_path / "spool", StoreHandle(url), drainer="process").start()
    try:
        writer.append([record(i) for i in range(200)])
        assert writer.flush(30) and writer.pending == 0
        child = writer.child
        assert child is not None and child.alive
        os.kill(child.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
        child.process.wait()  # type: ignore[union-attr]
        writer.append([record(i) for i in range(200, 500)])  # the service keeps answering and spooling
        _wait(lambda: writer.stats()["drainer"]["down"] is not None, "the dead drainer to show in the writer's health")
        assert writer.stats()["drainer"]["exit_code"] == -signal.SIGKILL
        assert writer.flush(30)  # restarted, it goes on from the saved offsets
        assert writer.stats()["drainer"]["restarts"] == 1 and writer.drainer_down is None
    finally:
        assert writer.close(30)
    assert list((tmp_path / "spool").glob("*")) == []
    with Store.open(url) as store:
        assert store.audit.count("credit") == 500
        assert _profile_count(store) == 500


SERVING = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from nb2prod.runtime import AuditWriter, StoreHandle
    sys.path.insert(0, sys.argv[3])
    from test_audit_writer import record
    writer = AuditWriter(Path(sys.argv[1]), StoreHandle(sys.argv[2]), drainer="process").start()
    for start in range(0, 1000, 50):
        writer.append([record(i) for i in range(start, start + 50)])
    print(writer.child.process.pid, flush=True)
    time.sleep(600)
    """
)


def test_a_killed_serving_process_leaves_nothing_behind(tmp_path: Path) -> None:
    """kill -9 of the serving process: its drainer notices, finishes the (now unlocked) segment and exits."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    serving = subprocess.Popen([sys.executable, "-c", SERVING, str(tmp_path / "spool"), url, str(Path(__file__).parent)],
                               stdout=subprocess.PIPE)
    try:
        assert serving.stdout is not None
        drainer_pid = int(serving.stdout.readline())
    finally:
        serving.kill()
        serving.wait()
    _wait(lambda: not Path(f"/proc/{drainer_pid}").exists() or "Z" in Path(f"/proc/{drainer_pid}/stat").read_text().split()[2],
          "the orphaned drainer to exit")
    assert list((tmp_path / "spool").glob("*.jsonl")) == []
    with Store.open(url) as store:
        assert store.audit.count("credit") == 1000
        assert _profile_count(store) == 1000


def _explanations(url: str) -> dict[str, object]:
    with Store.open(url) as store:
        return {e.request_id: e.explanation for e in store.audit.predictions("credit")}


def test_explanation_lines_land_on_their_rows_once_and_replay_safely(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    spool = Spool(tmp_path / "spool").open()
    spool.append([record(i, _explain=True) for i in range(3)])
    spool.append([{"_kind": "explanation", "request_id": "r000001", "explanation": {"age": 0.5}}])
    with Store.open(url) as store:
        assert drain_spool(spool.folder, store, owner=os.getpid()) == 4  # lines copied: 3 rows + 1 explanation
        segment = spool.pending_segments()[0]
        segment.path.with_name(segment.path.name + ".drained").unlink()  # replayed from the start
        spool.close(drained=False)
        replay_spool(spool.folder, store)
        assert store.audit.count("credit") == 3  # the explanation line is not a row
        assert _profile_count(store) == 3
    assert _explanations(url) == {"r000000": None, "r000001": {"age": 0.5}, "r000002": None}


def test_process_mode_stores_sampled_explanations_computed_after_spooling(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"

    def enrich(records: list[dict[str, object]]) -> None:  # as the runtime's budgeted explainer does
        for r in records:
            if r.get("_explain"):
                r["explanation"] = {"age": float(str(r["request_id"])[1:])}

    writer = AuditWriter(tmp_path / "spool", StoreHandle(url), drainer="process", enrich=enrich).start()
    try:
        writer.append([record(i, _explain=i % 3 == 0) for i in range(30)])
        assert writer.flush(30)
        _wait(lambda: sum(v is not None for v in _explanations(url).values()) == 10, "the explanations to reach their rows")
    finally:
        assert writer.close(30)
    stored = _explanations(url)
    assert len(stored) == 30
    assert {k: v for k, v in stored.items() if v is not None} == {f"r{i:06d}": {"age": float(i)} for i in range(0, 30, 3)}


def test_shadow_lines_land_on_their_rows_also_when_replayed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    spool = Spool(tmp_path / "spool").open()
    spool.append([record(i, shadow_version="credit-v2") for i in range(4)])
    spool.append([{"_kind": "shadow", "request_id": f"r{i:06d}", "output": 1, "score": 0.75, "error": None} for i in range(3)])
    with Store.open(url) as store:
        drain_spool(spool.folder, store, owner=os.getpid())
        segment = spool.pending_segments()[0]
        segment.path.with_name(segment.path.name + ".drained").unlink()  # replayed from the start
        spool.close(drained=False)
        replay_spool(spool.folder, store)
        rows = {e.request_id: (e.shadow_output, e.shadow_score) for e in store.audit.predictions("credit")}
        assert rows == {"r000000": (1, 0.75), "r000001": (1, 0.75), "r000002": (1, 0.75), "r000003": (None, None)}
        assert store.audit.count("credit") == 4
