"""`nb2prod serve --topology` / `--stop` at the command line: one-line errors, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nb2prod.errors import UsageError
from nb2prod.package.topology import Topology
from nb2prod.settings import Settings
from nb2prod.store import Store


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nb2prod", "--home", str(home), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["serve"], "say which deployment to serve"),
        (["serve", "credit", "--replicas", "2"], "only apply with --topology"),
        (["serve", "credit:credit-v1", "--topology"], "not one version"),
        (["serve", "credit", "--topology"], "has no live version"),
    ],
)
def test_bad_serve_topology_input_gives_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    result = _run(*args, home=tmp_path)
    assert result.returncode != 0
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_stop_without_a_running_topology(tmp_path: Path) -> None:
    result = _run("serve", "--stop", home=tmp_path)
    assert result.returncode == 0 and "no running topology" in result.stdout


def test_sqlite_is_refused_when_postgres_is_required_and_warned_about_otherwise(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, store_url=f"sqlite:///{tmp_path / 'nb2prod.db'}")
    with Store.open(settings.resolved_store_url) as store:
        with pytest.raises(UsageError, match="needs PostgreSQL"):
            Topology(settings, store, "credit", allow_sqlite=False)
        assert "SQLite" in Topology(settings, store, "credit").warnings[0]
        with pytest.raises(UsageError, match="--replicas"):
            Topology(settings, store, "credit", replicas=0)
