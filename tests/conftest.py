"""Shared fixtures: every test gets its own workspace; nothing touches ~/.nb2prod or ~/bentoml."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_legs import pytest_runtest_makereport  # noqa: F401  (hook: in CI a skipped postgres/browser leg fails)
from nb2prod.api import Workspace


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("nb2prod-home")
    monkeypatch.setenv("NB2PROD_HOME", str(home))
    monkeypatch.setenv("BENTOML_HOME", str(home / "bentoml"))
    monkeypatch.setenv("BENTOML_DO_NOT_TRACK", "True")
    monkeypatch.delenv("NB2PROD_STORE_URL", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each database: a new SQLite file, then the shared PostgreSQL test server (skipped
    without it; in CI a skipped postgres leg fails). PostgreSQL is shared: use names of your own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'nb2prod.db'}"
    url = pg_url()
    if not url:
        pytest.skip("NB2PROD_TEST_PG_URL not set (.ci/run starts a PostgreSQL server and sets it)")
    return url


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def pg_url() -> str | None:
    return os.environ.get("NB2PROD_TEST_PG_URL") or None
