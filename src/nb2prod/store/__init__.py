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
from nb2prod.store.registry import Registry
from nb2prod.store.tables import metadata

__all__ = ["AlertJournal", "AuditLog", "Registry", "RunJournal", "Store"]


def _create_tables(engine: Engine, attempts: int = 50) -> None:
    """``create_all``, tolerating other processes creating the same tables at the same moment.

    ``create_all`` checks then creates table by table, so concurrent first opens of a new database
    can collide on any table; each retry finds more tables already there, so this converges.
    """
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            return
        except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.ProgrammingError) as exc:
            if "already exists" not in str(exc) or attempt == attempts - 1:
                raise


class Store:
    """One database holding the registry, the audit log, runs and alerts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = Registry(engine)
        self.audit = AuditLog(engine)
        self.runs = RunJournal(engine)
        self.alerts = AlertJournal(engine)

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
