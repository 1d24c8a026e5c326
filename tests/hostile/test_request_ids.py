"""Every answered prediction is in the audit log, whatever request id the caller sends; nobody can occupy another caller's id."""

from __future__ import annotations

from pathlib import Path

from runtime_folder import sample_rows

from nb2prod.runtime import GuardedRuntime
from nb2prod.store import Store


def _runtime(folder: Path, tmp_path: Path) -> GuardedRuntime:
    return GuardedRuntime.load(folder, store_url=f"sqlite:///{tmp_path / 'audit.db'}", spool_dir=tmp_path / "spool")


def test_a_request_id_reused_after_a_restart_is_answered_and_stored_twice(hostile_folder: Path, tmp_path: Path) -> None:
    rows = sample_rows(hostile_folder)
    answers = []
    for row in rows[:2]:  # the same client id, one service lifetime each
        rt = _runtime(hostile_folder, tmp_path)
        try:
            answers += rt.predict([row], request_ids=["order-1"])
            assert rt.writer.flush(10)
        finally:
            rt.close()
    with Store.open(f"sqlite:///{tmp_path / 'audit.db'}") as store:
        stored = store.audit.by_client_id("order-1", name="credit")
    assert [e.request_id for e in stored] == [a.request_id for a in answers]
    assert [e.inputs for e in stored] == [dict(r) for r in rows[:2]]


def test_an_id_taken_first_by_someone_else_neither_refuses_nor_captures_the_real_caller(hostile_folder: Path, tmp_path: Path) -> None:
    rows = sample_rows(hostile_folder)
    rt = _runtime(hostile_folder, tmp_path)
    try:
        [squatter] = rt.predict([rows[5]], request_ids=["loan-42"])  # guessed the real client's next id
        [victim] = rt.predict([rows[6]], request_ids=["loan-42"])  # answered, not a 409
        duplicate = rt.predict([rows[7], rows[8]], request_ids=["dup", "dup"])
        assert victim.request_id != squatter.request_id and victim.client_request_id == "loan-42"
        rt.feedback(victim.request_id, label=1)
        assert rt.writer.flush(10)
    finally:
        rt.close()
    with Store.open(f"sqlite:///{tmp_path / 'audit.db'}") as store:
        [label] = store.audit.feedback(name="credit")
        assert label.request_id == victim.request_id
        assert store.audit.get(label.request_id).inputs == dict(rows[6])  # the feedback joins the victim's row
        assert len(store.audit.by_client_id("dup")) == len(duplicate) == 2
        assert store.audit.count("credit") == 4


def test_a_store_created_before_client_ids_were_kept_gains_the_column(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from nb2prod.models import AuditEvent

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Store.open(url) as store, store.engine.begin() as conn:  # as the release before migrations left it
        conn.execute(sa.text("DROP TABLE nb2prod_schema_version"))
        conn.execute(sa.text("DROP INDEX ix_predictions_client_request_id"))
        conn.execute(sa.text("ALTER TABLE predictions DROP COLUMN client_request_id"))
    with Store.open(url) as store:
        store.audit.write([AuditEvent(request_id="k1", name="credit", version_id="v1", ts=1.0, inputs={}, client_request_id="mine")])
        assert [e.request_id for e in store.audit.by_client_id("mine")] == ["k1"]
