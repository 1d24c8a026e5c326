from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nb2prod.errors import ConflictError, NotFoundError, StoreError
from nb2prod.models import AuditEvent, Feedback, Override, RegistryEvent, RunRecord, Traffic, VersionRecord, VersionState
from nb2prod.store import Store


def _record(name: str = "credit", vid: str = "credit-v1", created: str = "2026-11-23T10:00:00") -> VersionRecord:
    return VersionRecord(version_id=vid, name=name, created_at=created, model_hash="abc", metrics={"roc_auc": 0.8})


def _event(rid: str, ts: float, name: str = "credit", version: str = "credit-v1") -> AuditEvent:
    return AuditEvent(request_id=rid, name=name, version_id=version, ts=ts, inputs={"age": 30, "purpose": "car"}, output=1, score=0.7)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'db' / 'nb2prod.db'}")
        yield s
        s.close()
        return
    url = os.environ.get("NB2PROD_TEST_PG_URL")
    if not url:
        pytest.skip("NB2PROD_TEST_PG_URL not set (.ci/run starts a PostgreSQL server and sets it)")
    import sqlalchemy as sa

    from nb2prod.store.tables import metadata

    s = Store.open(url)
    with s.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(sa.delete(table))
    yield s
    s.close()


def test_sqlite_store_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "x" / "nb2prod.db"
    with Store.open(f"sqlite:///{path}") as s:
        s.registry.names()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_versions_resolve_by_name_prefix_and_live(store: Store) -> None:
    store.registry.add_version(_record(vid="credit-v1", created="2026-11-23T10:00:00"))
    store.registry.add_version(_record(vid="credit-v2", created="2026-11-23T11:00:00"))
    assert store.registry.resolve("credit").version_id == "credit-v2"  # newest when nothing is live
    store.registry.set_traffic(Traffic(name="credit", live="credit-v1"), RegistryEvent("credit", "promote", "credit-v1", "me", "first"))
    assert store.registry.resolve("credit").version_id == "credit-v1"  # live wins
    assert store.registry.resolve("credit:credit-v2").version_id == "credit-v2"
    with pytest.raises(ConflictError):
        store.registry.resolve("credit:credit-v")
    with pytest.raises(NotFoundError):
        store.registry.resolve("nope")
    with pytest.raises(ConflictError):
        store.registry.add_version(_record(vid="credit-v1"))
    store.registry.set_state("credit-v1", VersionState.LIVE)
    assert [(r.version_id, st) for r, st in store.registry.versions("credit")] == [
        ("credit-v2", VersionState.CANDIDATE),
        ("credit-v1", VersionState.LIVE),
    ]
    assert store.registry.get("credit-v1").metrics == {"roc_auc": 0.8}


def test_traffic_changes_are_recorded_with_who_and_why(store: Store) -> None:
    store.registry.add_version(_record())
    store.registry.set_traffic(Traffic(name="credit", live="credit-v1"), RegistryEvent("credit", "promote", "credit-v1", "ana", "gate passed"))
    store.registry.set_traffic(
        Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10),
        RegistryEvent("credit", "canary", "credit-v2", "ana", "10% canary", evidence={"agreement": 0.97}),
    )
    t = store.registry.traffic("credit")
    assert (t.live, t.canary, t.canary_percent) == ("credit-v1", "credit-v2", 10)
    history = store.registry.events("credit")
    assert [e.action for e in history] == ["canary", "promote"]
    assert history[0].evidence == {"agreement": 0.97} and history[0].actor == "ana" and history[0].ts > 0


def test_traffic_compare_and_set_refuses_a_change_computed_from_stale_routing(store: Store) -> None:
    store.registry.add_version(_record())
    store.registry.set_traffic(Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=12.5),
                               RegistryEvent("credit", "canary", "credit-v2", "ana", "canary"))
    read = store.registry.traffic("credit")
    stop = Traffic(**{**read.to_dict(), "canary": None, "canary_percent": 0.0})
    store.registry.set_traffic(stop, RegistryEvent("credit", "rollback", "credit-v1", "replica-a", "canary failed"), expected=read)
    with pytest.raises(ConflictError, match="changed while"):  # replica b read the same routing: its write is refused whole
        store.registry.set_traffic(stop, RegistryEvent("credit", "rollback", "credit-v1", "replica-b", "canary failed"), expected=read)
    assert [e.actor for e in store.registry.events("credit")] == ["replica-a", "ana"]
    fresh = store.registry.traffic("credit")
    store.registry.set_traffic(Traffic(**{**fresh.to_dict(), "shadow": "credit-v2"}),
                               RegistryEvent("credit", "shadow", "credit-v2", "ana", "shadow"), expected=fresh)  # a fresh read is accepted
    assert store.registry.traffic("credit").shadow == "credit-v2"


def test_audit_writes_are_idempotent_and_read_by_window(store: Store) -> None:
    now = time.time()
    events = [_event(f"r{i}", now + i) for i in range(5)]
    assert store.audit.write(events) == 5
    store.audit.write(events[:3])  # a replay after a crash must not duplicate rows
    assert store.audit.count("credit") == 5
    window = store.audit.predictions("credit", since=now + 1, until=now + 4)
    assert [e.request_id for e in window] == ["r1", "r2", "r3"]
    assert [e.request_id for e in store.audit.predictions("credit", limit=2)] == ["r3", "r4"]
    assert store.audit.get("r2").inputs == {"age": 30, "purpose": "car"}
    with pytest.raises(NotFoundError):
        store.audit.get("missing")


def test_feedback_and_overrides_join_on_request_id(store: Store) -> None:
    store.audit.write([_event("a", 1.0), _event("b", 2.0), _event("c", 3.0, name="other")])
    store.audit.add_feedback([Feedback("a", label=0), Feedback("a", label=1), Feedback("c", label=1)])
    store.audit.add_override(Override("b", decision=0, operator="ops@bank", reason="known customer"))
    fb = store.audit.feedback(name="credit")
    assert [(f.request_id, f.label) for f in fb] == [("a", 1)]  # latest label per request wins
    ov = store.audit.overrides(name="credit")
    assert ov[0].operator == "ops@bank" and ov[0].ts > 0


def test_runs_and_alerts_journals(store: Store) -> None:
    store.runs.add(RunRecord("r1", "nb.ipynb", "out.ipynb", {"seed": 1}, "running", 1.0))
    store.runs.update("r1", status="succeeded", duration_s=2.5)
    assert store.runs.get("r1").status == "succeeded"
    with pytest.raises(NotFoundError):
        store.runs.update("nope", status="failed")
    from nb2prod.models import AlertEvent

    alert_id = store.alerts.add(AlertEvent("credit", "drift-high", "dataset_drift", 0.6, 0.5, "1h"))
    store.alerts.mark_delivered(alert_id)
    assert store.alerts.list("credit")[0].delivered is True


def test_unwritable_or_malformed_store_gives_one_line_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.geteuid() == 0:  # root ignores permissions; a path under a file is unwritable for everyone
            target = tmp_path / "file"
            target.write_text("x")
            url = f"sqlite:///{target / 'sub' / 'nb2prod.db'}"
        else:
            url = f"sqlite:///{locked / 'sub' / 'nb2prod.db'}"
        with pytest.raises(StoreError) as err:
            Store.open(url)
        assert "\n" not in str(err.value) and "NB2PROD_HOME" in str(err.value)
    finally:
        locked.chmod(0o700)
    with pytest.raises(StoreError, match="not a database URL"):
        Store.open("not a url")
    with pytest.raises(StoreError, match="no database driver"):
        Store.open("nosuchdb://x/y")


def test_concurrent_first_opens_of_a_new_sqlite_store_do_not_race(tmp_path: Path) -> None:
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'race' / 'nb2prod.db'}"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        assert pool.map(_open_and_count, [url] * 8) == [0] * 8


def _open_and_count(url: str) -> int:
    with Store.open(url) as s:
        return s.audit.count()
