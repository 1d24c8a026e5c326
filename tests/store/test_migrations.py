"""Schema migrations: stores written by earlier releases open with every row kept; the revisions
build exactly tables.py; concurrent first opens agree; a store from a newer nb2prod is refused."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from release_schema import RELEASES, metadata_at

from nb2prod.errors import StoreError
from nb2prod.models import AlertEvent, AuditEvent, Feedback, Override, RegistryEvent, RunRecord, Traffic, VersionRecord
from nb2prod.store import Store
from nb2prod.store.engine import open_engine
from nb2prod.store.migrations import HEAD, SCRIPT_LOCATION, VERSION_TABLE
from nb2prod.store.schema import schema_status, upgrade_schema
from nb2prod.store.tables import metadata

ADD_REVISION = 'add a revision: python -m nb2prod.store.migrations revision -m "what changed" (docs/design.md, Schema migrations)'


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'nb2prod.db'}"
        return
    base = os.environ.get("NB2PROD_TEST_PG_URL")
    if not base:
        pytest.skip("NB2PROD_TEST_PG_URL not set (./dev test starts a PostgreSQL server and sets it)")
    name = f"nb2prod_mig_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _schema_diff(url: str) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE}), metadata))
    finally:
        engine.dispose()


# -- rows of every table, written through the Store API ---------------------------------------

def _populate(store: Store, now: float) -> None:
    reg = store.registry
    for n in (1, 2):
        reg.add_version(VersionRecord(version_id=f"credit-v{n}", name="credit", created_at=f"2026-11-2{n}T10:00:00",
                                      model_hash=f"h{n}", metrics={"roc_auc": 0.8 + n / 100}))
    reg.set_traffic(Traffic(name="credit", live="credit-v1"), RegistryEvent("credit", "promote", "credit-v1", "ana", "first"))
    reg.set_traffic(Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10),
                    RegistryEvent("credit", "canary", "credit-v2", "ana", "10% canary", evidence={"agreement": 0.97}))
    hour = (int(now) // 3600 - 3) * 3600  # a closed hour: reading it with rollup=True stores its rollup
    store.audit.write([
        AuditEvent(request_id=f"r{i}", name="credit", version_id="credit-v1" if i % 3 else "credit-v2", ts=hour + 60 * i + 1,
                   inputs={"age": 30 + i, "purpose": "car" if i % 2 else "tv"}, output=i % 2, score=0.1 * i, latency_ms=2.5,
                   arm="live" if i % 3 else "canary", client_request_id=f"caller-{i}", explanation={"age": 0.1})
        for i in range(6)
    ])
    store.audit.add_feedback([Feedback("r0", label=1, ts=hour + 500), Feedback("r1", label=0, outcome=1.5, ts=hour + 501, source="crm")])
    store.audit.add_override(Override("r2", decision=1, operator="ops@bank", reason="known customer", ts=hour + 502))
    store.runs.add(RunRecord("run-1", "nb.ipynb", "out.ipynb", {"seed": 1}, "succeeded", hour, duration_s=2.5, result={"auc": 0.81}))
    store.alerts.add(AlertEvent("credit", "drift-high", "dataset_drift", 0.6, 0.5, "1h", ts=hour + 900))
    store.audit.profiles.buckets("credit", rollup=True)
    assert store.leases.try_acquire("credit/rollback", "replica-a", 3600)


def _release_store(url: str, release: str, tmp_path: Path, now: float) -> Store:
    """Create the ``release`` schema at ``url`` and copy into it every row a current store holds after
    :func:`_populate` (the columns that release had); returns that current store, the reference."""
    reference = Store.open(f"sqlite:///{tmp_path / 'reference.db'}")
    _populate(reference, now)
    old = metadata_at(release)
    engine = open_engine(url)
    try:
        old.create_all(engine)
        with reference.engine.connect() as src, engine.begin() as dst:
            for table in old.sorted_tables:
                # autoincrement ids are left to the database, inserted in id order, as the release did
                columns = [c for c in table.columns if not (c.name == "id" and c.autoincrement is True)]
                source = metadata.tables[table.name]
                rows = src.execute(sa.select(*[source.c[c.name] for c in columns]).order_by(*source.primary_key.columns))
                values = [dict(r._mapping) for r in rows]
                assert values, f"_populate wrote no {table.name} row"
                dst.execute(table.insert(), values)
    finally:
        engine.dispose()
    return reference


def _rows(url: str, release: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the release had, its columns only, in primary-key order."""
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in metadata_at(release).sorted_tables:
                current = sa.Table(table.name, sa.MetaData(), autoload_with=conn)
                query = sa.select(*[current.c[c.name] for c in table.columns]).order_by(*[current.c[c.name] for c in table.primary_key])
                out[table.name] = [dict(r._mapping) for r in conn.execute(query)]
            return out
    finally:
        engine.dispose()


@pytest.mark.parametrize("release", RELEASES)
def test_a_store_written_by_an_earlier_release_opens_upgraded_with_every_row(
    empty_db: str, release: str, tmp_path: Path,
) -> None:
    now = time.time()
    reference = _release_store(empty_db, release, tmp_path, now)
    before = _rows(empty_db, release)
    engine = open_engine(empty_db)
    status = schema_status(engine)
    engine.dispose()
    assert (status.revision, status.detected, status.at_head) == (release, True, release == HEAD)

    with Store.open(empty_db) as store:
        engine = store.engine
        assert schema_status(engine).revision == HEAD
        assert _rows(empty_db, release) == before  # every row of every table kept, value for value
        assert _schema_diff(empty_db) == [], ADD_REVISION

        # ... and readable through the Store API, as the reference store reads its own
        assert store.registry.versions("credit") == reference.registry.versions("credit")
        assert store.registry.traffic("credit") == reference.registry.traffic("credit")
        assert store.registry.events("credit") == reference.registry.events("credit")
        mine, theirs = store.audit.predictions("credit", limit=100), reference.audit.predictions("credit", limit=100)
        if release == "0001":  # that release did not keep the caller's id
            assert [e.client_request_id for e in mine] == [None] * 6
            theirs = [AuditEvent(**{**e.to_dict(), "client_request_id": None}) for e in theirs]
        assert mine == theirs and len(mine) == 6
        assert store.audit.feedback(name="credit") == reference.audit.feedback(name="credit")
        assert store.audit.overrides(name="credit") == reference.audit.overrides(name="credit")
        assert store.runs.list() == reference.runs.list()
        assert store.alerts.list("credit") == reference.alerts.list("credit")
        if release < "0003":  # no profiles then: the documented backfill rebuilds them from the audit rows
            assert store.audit.profiles.rebuild("credit") == 6
        assert store.audit.profiles.version_counts("credit") == reference.audit.profiles.version_counts("credit") == {"credit-v1": 4, "credit-v2": 2}
        hours = store.audit.profiles.buckets("credit", rollup=True)
        assert [(b.version_id, b.arm, b.width) for b in hours] == [
            (b.version_id, b.arm, b.width) for b in reference.audit.profiles.buckets("credit", rollup=True)]
        if release >= "0005":
            assert store.leases.get("credit/rollback") == reference.leases.get("credit/rollback")

        # ... and written: new columns, new tables and the id sequences all work after the upgrade
        store.audit.write([AuditEvent(request_id="new", name="credit", version_id="credit-v1", ts=now, inputs={"age": 1},
                                      output=1, score=0.9, client_request_id="caller-new")])
        store.audit.add_feedback([Feedback("new", label=1)])
        assert store.audit.by_client_id("caller-new")[0].request_id == "new"
        assert len(store.audit.feedback(name="credit")) == 3
        assert store.leases.try_acquire("credit/retrain", "replica-b", 60)
    reference.close()


def test_the_revisions_build_exactly_the_tables_in_tables_py(empty_db: str) -> None:
    """Run every revision on an empty database (not create_all) and compare with tables.py."""
    from nb2prod.store.schema import _alembic, _migration_lock

    engine = open_engine(empty_db)
    try:
        with _migration_lock(engine) as conn:
            _alembic("upgrade", conn, "head")
        assert schema_status(engine).revision == HEAD
    finally:
        engine.dispose()
    diff = _schema_diff(empty_db)
    assert diff == [], f"tables.py and the migrations differ ({diff}); {ADD_REVISION}"


def test_head_names_the_single_newest_revision() -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(SCRIPT_LOCATION)).get_heads()
    assert len(heads) == 1, f"revisions branch ({heads}): set the newer one's down_revision to the other"
    assert heads == [HEAD], f"nb2prod/store/migrations/__init__.py HEAD = {HEAD!r} but the newest revision is {heads[0]!r}: update HEAD"


def test_revisions_downgrade_to_nothing_and_upgrade_again(empty_db: str) -> None:
    from alembic import command

    from nb2prod.store.schema import _config, _migration_lock

    engine = open_engine(empty_db)
    try:
        with _migration_lock(engine) as conn:
            command.upgrade(_config(conn), "head")
            command.downgrade(_config(conn), "base")
        assert set(sa.inspect(engine).get_table_names()) <= {VERSION_TABLE}
        with _migration_lock(engine) as conn:
            command.upgrade(_config(conn), "head")
    finally:
        engine.dispose()
    assert _schema_diff(empty_db) == []


def test_a_new_store_is_created_at_head(empty_db: str) -> None:
    with Store.open(empty_db) as store:
        assert schema_status(store.engine).to_dict() | {"url": None} == {
            "url": None, "revision": HEAD, "head": HEAD, "at_head": True, "detected": False, "known": True}
    assert _schema_diff(empty_db) == []


def test_a_store_from_a_newer_nb2prod_is_refused_in_one_line(empty_db: str) -> None:
    Store.open(empty_db).close()
    engine = open_engine(empty_db)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError) as err:
        Store.open(empty_db)
    message = str(err.value)
    assert "\n" not in message and "9999" in message and "newer" in message and "upgrade nb2prod" in message


def test_concurrent_first_opens_of_a_new_store_all_succeed(empty_db: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        assert pool.map(_open_and_revision, [empty_db] * 8) == [HEAD] * 8
    with ThreadPoolExecutor(4) as threads:
        assert list(threads.map(_open_and_revision, [empty_db] * 8)) == [HEAD] * 8
    engine = open_engine(empty_db)
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1
    engine.dispose()


def test_concurrent_first_opens_of_an_old_store_upgrade_it_once(empty_db: str, tmp_path: Path) -> None:
    _release_store(empty_db, "0001", tmp_path, time.time()).close()
    before = _rows(empty_db, "0001")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        assert pool.map(_open_and_revision, [empty_db] * 4) == [HEAD] * 4
    assert _rows(empty_db, "0001") == before
    assert _schema_diff(empty_db) == []


def _open_and_revision(url: str) -> str | None:
    with Store.open(url) as store:
        store.audit.count()
        return schema_status(store.engine).revision


def test_opening_a_store_at_head_imports_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nb2prod.db'}"
    Store.open(url).close()
    code = f"import sys; from nb2prod.store import Store; Store.open({url!r}).close(); print('alembic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_upgrade_schema_reports_before_and_after(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _release_store(url, "0002", tmp_path, time.time()).close()
    engine = open_engine(url)
    try:
        before, after = upgrade_schema(engine)
        assert (before.revision, before.detected, after.revision) == ("0002", True, HEAD)
        again_before, again_after = upgrade_schema(engine)
        assert again_before.at_head and again_after.at_head
    finally:
        engine.dispose()


def test_store_current_and_upgrade_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from nb2prod.api import Workspace
    from nb2prod.cli import main

    home = str(tmp_path / "home")
    url = Workspace.open(home).settings.resolved_store_url

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--home", home, "store", *args])
        out = capsys.readouterr()
        return code, out.out.strip(), out.err.strip()

    assert run("current")[1].endswith(f"empty; the first command that opens it creates it at revision {HEAD}")
    _release_store(url, "0002", tmp_path, time.time()).close()
    code, out, _ = run("current", "--json")
    assert code == 0 and json.loads(out) | {"url": None} == {
        "url": None, "revision": "0002", "head": HEAD, "at_head": False, "detected": True, "known": True}
    assert run("current")[1].endswith(f"revision 0002 (written before migrations: revision read off its tables), head {HEAD}: "
                                      "`nb2prod store upgrade` or any command that opens it upgrades it")
    assert run("upgrade") == (0, f"store {url}: upgraded from revision 0002 to {HEAD}", "")
    assert run("upgrade")[1].endswith(f"already at revision {HEAD} (head)")
    assert run("current")[1].endswith(f"revision {HEAD} (head)")

    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    assert run("current")[1].endswith(f"revision 9999, newer than this nb2prod (head {HEAD}): upgrade nb2prod")
    code, out, err = run("upgrade")
    assert code == 7 and out == "" and "\n" not in err and "newer than this nb2prod knows" in err and "upgrade nb2prod" in err


def test_another_applications_alembic_table_in_the_same_database_is_left_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = open_engine(url)
    with engine.begin() as conn:  # e.g. MLflow's tracking store, migrated by its own Alembic scripts
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('mlflow_abc123')"))
    engine.dispose()
    with Store.open(url) as store:
        assert schema_status(store.engine).revision == HEAD
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "mlflow_abc123"


def test_a_store_whose_first_open_died_half_way_is_completed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'half.db'}"
    old = metadata_at("0001")
    engine = open_engine(url)
    for name in ("versions", "traffic", "events"):  # create_all got this far, table by table
        old.tables[name].create(engine)
    status = schema_status(engine)
    engine.dispose()
    assert (status.revision, status.detected) == (None, False)
    Store.open(url).close()
    assert _schema_diff(url) == []


def test_a_failed_upgrade_leaves_the_store_as_it_was(empty_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A revision failing half way (after an ALTER) rolls back whole: no column, same revision, one line."""
    import shutil

    from nb2prod.store import schema

    Store.open(empty_db).close()
    scripts = tmp_path / "migrations"  # a copy: the shipped scripts stay untouched
    shutil.copytree(SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0999_fails.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = '0999'\ndown_revision = {HEAD!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade():\n"
        "    op.add_column('predictions', sa.Column('half_way', sa.Integer()))\n"
        "    op.execute('SELECT no_such_column FROM predictions')\n\n\n"
        "def downgrade():\n    pass\n"
    )
    monkeypatch.setattr(schema, "SCRIPT_LOCATION", scripts)
    monkeypatch.setattr(schema, "HEAD", "0999")
    schema._scripts.cache_clear()
    try:
        with pytest.raises(StoreError) as err:
            Store.open(empty_db)
    finally:
        schema._scripts.cache_clear()
    message = str(err.value)
    assert "\n" not in message and f"from schema revision {HEAD} to 0999 failed (rolled back: the store is as it was)" in message
    engine = open_engine(empty_db)
    try:
        assert "half_way" not in {c["name"] for c in sa.inspect(engine).get_columns("predictions")}
        with engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == HEAD
    finally:
        engine.dispose()


def test_the_revision_command_writes_the_next_revision_and_moves_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """What a developer runs after changing tables.py, on a copy of the scripts."""
    import shutil

    from nb2prod.store import schema
    from nb2prod.store.migrations import __main__ as dev

    scripts = tmp_path / "migrations"
    shutil.copytree(SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(schema, "SCRIPT_LOCATION", scripts)
    monkeypatch.setattr(dev, "SCRIPT_LOCATION", scripts)
    assert dev.main(["check"]) == 0  # the shipped revisions build tables.py
    added = sa.Table("scratch_notes", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("note", sa.Text))
    try:
        assert dev.main(["check"]) == 1
        assert 'revision -m "what changed"' in capsys.readouterr().err
        assert dev.main(["revision", "-m", "scratch notes"]) == 0
        written = sorted((scripts / "versions").glob("*_scratch_notes.py"))
        number = f"{int(HEAD) + 1:04d}"
        assert [p.name for p in written] == [f"{number}_scratch_notes.py"]
        text = written[0].read_text()
        assert f"revision = '{number}'" in text and f"down_revision = '{HEAD}'" in text and "op.create_table('scratch_notes'" in text
        assert f'HEAD = "{number}"' in (scripts / "__init__.py").read_text()
        schema._scripts.cache_clear()
        assert dev.main(["check"]) == 0  # the new revision closes the gap
    finally:
        metadata.remove(added)
        schema._scripts.cache_clear()
