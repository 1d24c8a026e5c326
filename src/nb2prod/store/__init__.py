"""The store: version registry + audit log (+ run and alert journals) behind one URL.

SQLite in WAL mode by default; any SQLAlchemy URL (PostgreSQL for several replicas).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nb2prod.errors import StoreError
from nb2prod.store.alert_state import AlertStates
from nb2prod.store.audit import AuditLog
from nb2prod.store.engine import open_engine
from nb2prod.store.journal import AlertJournal, RunJournal
from nb2prod.store.leases import Lease, Leases
from nb2prod.store.registry import Registry
from nb2prod.store.schema import ensure_schema

__all__ = ["AlertJournal", "AlertStates", "AuditLog", "Lease", "Leases", "Registry", "RunJournal", "Store"]


class Store:
    """One database holding the registry, the audit log, runs, alerts and leases."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = Registry(engine)
        self.audit = AuditLog(engine)
        self.runs = RunJournal(engine)
        self.alerts = AlertJournal(engine)
        self.leases = Leases(engine)
        self.alert_states = AlertStates(engine)

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (and create if needed) the store at ``url``, upgrading its schema to this release's.

        Raises :class:`StoreError` naming the problem when it cannot be opened or written, or was
        written by a newer nb2prod.
        """
        engine = open_engine(url)
        try:
            ensure_schema(engine)
        except StoreError:
            engine.dispose()
            raise
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
