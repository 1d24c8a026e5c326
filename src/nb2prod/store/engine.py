"""Open a SQLAlchemy engine for the store: SQLite in WAL mode by default, any URL accepted."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nb2prod.errors import StoreError

__all__ = ["is_transient", "open_engine", "redacted_url"]


def _sqlite_path(url: sa.engine.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _enable_wal(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_engine(url: str) -> Engine:
    """Create the engine for ``url``; SQLite files get their folder, WAL and a busy timeout.

    Raises :class:`StoreError` with a one-line fix for a malformed URL, a missing driver or an
    unwritable location.
    """
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            f"store URL {url!r} is not a database URL",
            fix="use e.g. sqlite:////path/to/nb2prod.db or postgresql+psycopg://user@host/db",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the store folder {path.parent}: {exc.strerror}",
                    fix="point NB2PROD_HOME (or --home) at a writable folder",
                ) from exc
        engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
        sa.event.listen(engine, "connect", _enable_wal)
        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, future=True)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise StoreError(
            f"no database driver for {parsed.drivername!r}: {exc}",
            fix="install the driver (PostgreSQL: pip install 'psycopg[binary]') or use a sqlite:/// URL",
        ) from exc


def is_transient(exc: BaseException) -> bool:
    """A store failure worth retrying: the database busy, gone or unreachable for now, not a refused row."""
    return isinstance(exc, StoreError | sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.DisconnectionError | OSError)


def redacted_url(url: str) -> str:
    """``url`` as it may be shown or logged: the password replaced by ``***``."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)
