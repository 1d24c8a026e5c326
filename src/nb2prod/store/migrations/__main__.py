"""Developer commands for the store's migrations (no database or alembic.ini needed).

    python -m nb2prod.store.migrations revision -m "add the lease table"
        write versions/NNNN_<slug>.py with the operations that take a store at head to tables.py
        (Alembic autogenerate against a scratch SQLite store), and move HEAD to it; review the file
    python -m nb2prod.store.migrations check
        print what tables.py has that the revisions do not build (exit 1 when they differ)
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from nb2prod.store.migrations import SCRIPT_LOCATION, VERSION_TABLE

__all__: list[str] = []


def _scratch_at_head(folder: str) -> Any:
    """An engine on a new SQLite store built by running every revision (not create_all)."""
    from nb2prod.store.engine import open_engine
    from nb2prod.store.schema import _alembic, _migration_lock

    engine = open_engine(f"sqlite:///{Path(folder) / 'scratch.db'}")
    with _migration_lock(engine) as conn:
        _alembic("upgrade", conn, "head")
    return engine


def _next_id() -> str:
    numbers = [int(m.group(1)) for p in (SCRIPT_LOCATION / "versions").glob("*.py") if (m := re.match(r"(\d{4})_", p.name))]
    return f"{max(numbers, default=0) + 1:04d}"


def _move_head(revision: str) -> None:
    init = SCRIPT_LOCATION / "__init__.py"
    text = init.read_text()
    init.write_text(re.sub(r'(?m)^HEAD = "[^"]*"', f'HEAD = "{revision}"', text, count=1))


def revision(message: str) -> Path:
    from alembic import command

    from nb2prod.store.schema import _config

    rev_id = _next_id()
    with tempfile.TemporaryDirectory() as folder:
        engine = _scratch_at_head(folder)
        try:
            with engine.begin() as conn:
                script = command.revision(_config(conn), message=message, autogenerate=True, rev_id=rev_id)
        finally:
            engine.dispose()
    _move_head(rev_id)
    path = Path(script.path) if script is not None and not isinstance(script, list) else SCRIPT_LOCATION / "versions"
    return path


def check() -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from nb2prod.store.tables import metadata

    with tempfile.TemporaryDirectory() as folder:
        engine = _scratch_at_head(folder)
        try:
            with engine.connect() as conn:
                return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE}), metadata))
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nb2prod.store.migrations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("revision", help="write a revision for what tables.py changed")
    add.add_argument("-m", "--message", required=True, help="what the revision changes, one line")
    sub.add_parser("check", help="list what tables.py has that the revisions do not build")
    args = parser.parse_args(argv)
    if args.command == "revision":
        path = revision(args.message)
        print(f"wrote {path} (HEAD moved to it): review it, then run tests/store/test_migrations.py")
        return 0
    diff = check()
    for item in diff:
        print(item)
    if diff:
        print('tables.py differs from the revisions: python -m nb2prod.store.migrations revision -m "what changed"', file=sys.stderr)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
