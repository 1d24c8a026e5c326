"""Alembic migrations of the store's schema, shipped with the package and run on every open.

``HEAD`` names the newest revision so that opening a store already there costs one query and no
Alembic import; ``tests/store/test_migrations.py`` fails when it lags the revision scripts.
Add a revision with ``python -m nb2prod.store.migrations revision -m "what changed"`` (see
``docs/design.md``, "Schema migrations").
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["HEAD", "SCRIPT_LOCATION", "VERSION_TABLE"]

#: the newest revision in ``versions/``; a store stamped with it needs no migration
HEAD = "0006"

#: the table holding the store's revision: not Alembic's default ``alembic_version``, which another
#: application's migrations (MLflow's tracking store, say) may keep in the same database
VERSION_TABLE = "nb2prod_schema_version"

#: the folder Alembic reads ``env.py``, ``script.py.mako`` and ``versions/`` from
SCRIPT_LOCATION = Path(__file__).resolve().parent
