"""The store's schema version: bring a database to the migrations' head when it is opened.

Opening a store already at head costs one query and imports no Alembic. Otherwise, under a lock two
processes can share (SQLite: ``BEGIN IMMEDIATE``, PostgreSQL: a transaction-scoped advisory lock),
the revision is read again and

* an empty database gets the current tables (``create_all``) stamped at head;
* a store written before migrations existed (no ``nb2prod_schema_version`` table) is stamped with the revision
  its tables show, then upgraded;
* a store behind head is upgraded, every revision in the same transaction as the lock (SQLite and
  PostgreSQL both have transactional DDL, so a failed upgrade leaves the store as it was);
* a store at a revision this code does not know (written by a newer nb2prod) is refused with one
  line saying to upgrade nb2prod.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from nb2prod.errors import StoreError
from nb2prod.store.migrations import HEAD, SCRIPT_LOCATION, VERSION_TABLE
from nb2prod.store.tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = ["HEAD", "SchemaStatus", "ensure_schema", "schema_status", "store_schema", "upgrade_schema", "upgrade_store"]

_T = TypeVar("_T")
_SELECT_REVISION = sa.text(f"SELECT version_num FROM {VERSION_TABLE}")

#: PostgreSQL advisory lock key of store migrations (any constant shared by every nb2prod process)
_PG_LOCK_KEY = 0x6E623270726F64  # "nb2prod"
#: how long a second process waits for another's migration (SQLite busy timeout, in ms)
_SQLITE_LOCK_WAIT_MS = 600_000
#: the busy timeout every store connection uses (nb2prod.store.engine), restored after the lock
_SQLITE_BUSY_MS = 10_000


@dataclass(frozen=True)
class SchemaStatus:
    """Where a store's schema is: its revision (``None`` for an empty database) against head.

    ``detected`` is true when the store predates migrations and ``revision`` was read off its tables;
    ``known`` is false for a revision this nb2prod has no script for (written by a newer one).
    """

    url: str
    revision: str | None
    head: str
    detected: bool = False
    known: bool = True

    @property
    def at_head(self) -> bool:
        return self.revision == self.head

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "revision": self.revision, "head": self.head, "at_head": self.at_head, "detected": self.detected,
                "known": self.known}


def store_schema(url: str) -> SchemaStatus:
    """:func:`schema_status` of the store at ``url`` (nothing created or changed)."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        parsed = None  # open_engine says what is wrong with it
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database not in ("", ":memory:") and not database.startswith("file:") and not Path(database).exists():
            return SchemaStatus(parsed.render_as_string(hide_password=True), None, HEAD)  # connecting would create the file
    return _at_url(url, schema_status)


def upgrade_store(url: str) -> tuple[SchemaStatus, SchemaStatus]:
    """:func:`upgrade_schema` of the store at ``url``: its status before and after."""
    return _at_url(url, upgrade_schema)


def _at_url(url: str, action: Callable[[Engine], _T]) -> _T:
    from nb2prod.store.engine import open_engine

    engine = open_engine(url)
    try:
        return action(engine)
    except sa.exc.SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreError(f"cannot read the store at {_safe_url(engine)}: {detail}",
                         fix="check the path (NB2PROD_HOME / --home) or NB2PROD_STORE_URL and that the database server is reachable") from exc
    finally:
        engine.dispose()


def ensure_schema(engine: Engine) -> None:
    """Upgrade the store behind ``engine`` to head if it is not there (see the module docstring)."""
    if _read_revision(engine) != HEAD:
        upgrade_schema(engine)


def schema_status(engine: Engine) -> SchemaStatus:
    """The store's revision without changing anything (a pre-migration store's revision is inferred)."""
    with engine.connect() as conn:
        revision = _revision_in(conn)
        detected = False
        if revision is None:
            revision = _detect_unversioned(conn)
            detected = revision is not None
    known = revision in (None, HEAD) or _is_known(revision)
    return SchemaStatus(_safe_url(engine), revision, HEAD, detected, known)


def upgrade_schema(engine: Engine) -> tuple[SchemaStatus, SchemaStatus]:
    """Bring the store to head under the migration lock; returns its status before and after."""
    url = _safe_url(engine)
    with _migration_lock(engine) as conn:
        revision = _revision_in(conn)
        before = SchemaStatus(url, revision, HEAD)
        if revision == HEAD:
            return before, before
        if revision is None:
            detected = _detect_unversioned(conn)
            before = SchemaStatus(url, detected, HEAD, detected=detected is not None)
            if not _has_store_tables(conn):
                metadata.create_all(conn)
                _stamp(conn, HEAD)
                return before, SchemaStatus(url, HEAD, HEAD)
            # an unversioned store: stamp what its tables show (nothing if even the first release's
            # tables are incomplete: every revision then creates only what is missing)
            if detected is not None:
                _stamp(conn, detected)
        else:
            _check_known(conn, revision)
        try:
            _alembic("upgrade", conn, "head")
        except sa.exc.SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            kept = " (rolled back: the store is as it was)" if engine.dialect.name in ("sqlite", "postgresql") else ""
            raise StoreError(
                f"upgrading the store at {url} from schema revision {before.revision or 'none'} to {HEAD} failed{kept}: {detail}",
                fix="report it as an nb2prod bug, with the output of `nb2prod store current`",
            ) from exc
    return before, SchemaStatus(url, HEAD, HEAD)


# -- reading the revision ----------------------------------------------------------------------

def _read_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _revision_in(conn)


def _revision_in(conn: Connection) -> str | None:
    """The stamped revision, or ``None`` when the database has no revision table."""
    if conn.in_transaction():
        # inside the lock's transaction a failed SELECT would abort it on PostgreSQL: ask first
        if not sa.inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(_SELECT_REVISION).scalar()
    try:
        return conn.execute(_SELECT_REVISION).scalar()
    except sa.exc.DBAPIError:
        conn.rollback()
        if not sa.inspect(conn).has_table(VERSION_TABLE):
            return None
    # a concurrent first open created and stamped it between our SELECT and the look: read what it wrote
    return conn.execute(_SELECT_REVISION).scalar()


def _has_store_tables(conn: Connection) -> bool:
    return bool(set(sa.inspect(conn).get_table_names()) & set(metadata.tables))


def _detect_unversioned(conn: Connection) -> str | None:
    """The newest revision all of whose tables and columns a pre-migration store has, or ``None``."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())

    def columns(table: str) -> set[str]:
        return {c["name"] for c in inspector.get_columns(table)} if table in tables else set()

    found: str | None = None
    for revision, present in _UNVERSIONED_MARKERS:
        if not present(tables, columns):
            break
        found = revision
    return found


_Columns = Callable[[str], set[str]]

# What each revision added, oldest first, for stores written before migrations: every release from
# the first to the one before migrations created its tables with create_all and added nullable
# columns on open, so a store shows a prefix of these.
_UNVERSIONED_MARKERS: list[tuple[str, Callable[[set[str], _Columns], bool]]] = [
    ("0001", lambda t, _c: {"versions", "traffic", "events", "predictions", "feedback", "overrides", "runs", "alerts"} <= t),
    ("0002", lambda _t, c: "client_request_id" in c("predictions")),
    ("0003", lambda t, _c: {"profiles", "label_profiles"} <= t),
    ("0004", lambda t, c: "profile_rollups" in t and "updates" in c("label_profiles")),
    ("0005", lambda t, _c: "leases" in t),
    ("0006", lambda t, _c: {"alert_state", "alert_outbox"} <= t),
]


# -- the lock ----------------------------------------------------------------------------------

@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that holds the store's migration lock; commits on success."""
    backend = engine.dialect.name
    with engine.connect() as conn:
        try:
            if backend == "sqlite":
                # BEGIN IMMEDIATE takes SQLite's write lock now; a second opener waits in it for
                # as long as a migration of a large audit table may take
                conn.exec_driver_sql(f"PRAGMA busy_timeout={_SQLITE_LOCK_WAIT_MS}")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif backend == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            if backend == "sqlite":
                with suppress(sa.exc.DBAPIError):
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")


# -- Alembic (imported only when a store needs a migration) -------------------------------------

def _config(conn: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = conn
    return config


@cache
def _scripts() -> ScriptDirectory:
    """The revision scripts, read once per process (a new store is stamped without reading them again)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(SCRIPT_LOCATION))


def _stamp(conn: Connection, revision: str) -> None:
    from alembic.runtime.migration import MigrationContext

    MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).stamp(_scripts(), revision)


def _alembic(action: str, conn: Connection, revision: str) -> None:
    """Run an Alembic command (through env.py) on ``conn``, inside its transaction."""
    from alembic import command

    if action == "downgrade":
        command.downgrade(_config(conn), revision)
    else:
        command.upgrade(_config(conn), revision)


def _is_known(revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def _check_known(conn: Connection, revision: str) -> None:
    if not _is_known(revision):
        raise StoreError(
            f"the store at {_safe_url(conn.engine)} has schema revision {revision}, newer than this nb2prod knows (head {HEAD})",
            fix="upgrade nb2prod (pip install -U nb2prod) wherever this store is used",
        ) from None


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
