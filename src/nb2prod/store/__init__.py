"""The store: version registry + audit log (+ run and alert journals) behind one URL.

SQLite in WAL mode by default; any SQLAlchemy URL (PostgreSQL for several replicas).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nb2prod.errors import StoreError
from nb2prod.store.audit import AuditLog
from nb2prod.store.engine import open_engine
from nb2prod.store.journal import AlertJournal, RunJournal
from nb2prod.store.leases import Lease, Leases
from nb2prod.store.registry import Registry
from nb2prod.store.tables import metadata

__all__ = ["AlertJournal", "AuditLog", "Lease", "Leases", "Registry", "RunJournal", "Store"]


def _create_tables(engine: Engine, attempts: int = 50) -> None:
    """``create_all``, tolerating other processes creating the same tables at the same moment.

    ``create_all`` checks then creates table by table, so concurrent first opens of a new database
    can collide on any table; each retry finds more tables already there, so this converges.
    """
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            _add_nullable_columns(engine)
            return
        except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError) as exc:
            if not ("already exists" in str(exc) or "duplicate column" in str(exc)) or attempt == attempts - 1:
                raise


def _add_nullable_columns(engine: Engine) -> None:
    """Add nullable columns a newer release declares to tables an older release created.

    ``create_all`` never alters an existing table; a store written before a column existed would
    otherwise refuse every insert naming it. Only nullable columns are added (no backfill needed).
    """
    inspector = sa.inspect(engine)
    existing_tables = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing_tables:
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c for c in table.columns if c.name not in present and c.nullable]
        if not missing:
            continue
        with engine.begin() as conn:
            for column in missing:
                kind = column.type.compile(dialect=engine.dialect)
                conn.execute(sa.text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
            for index in table.indexes:
                if any(c.name in {m.name for m in missing} for c in index.columns):
                    index.create(conn, checkfirst=True)


class Store:
    """One database holding the registry, the audit log, runs, alerts and leases."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = Registry(engine)
        self.audit = AuditLog(engine)
        self.runs = RunJournal(engine)
        self.alerts = AlertJournal(engine)
        self.leases = Leases(engine)

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (and create if needed) the store at ``url``.

        Raises :class:`StoreError` naming the problem when it cannot be opened or written.
        """
        engine = open_engine(url)
        try:
            _create_tables(engine)
        except sa.exc.OperationalError as exc:
            engine.dispose()
            detail = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            raise StoreError(
                f"cannot open the store at {engine.url.render_as_string(hide_password=True)}: {detail}",
                fix="check the path is writable (NB2PROD_HOME / --home) or the database server is reachable",
            ) from exc
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the store: {exc}", fix="check NB2PROD_STORE_URL") from exc
        return cls(engine)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
