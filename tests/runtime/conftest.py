"""Fixtures: a real deployment folder (example credit pipeline), in-process runtimes, a served service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_folder import build_deployment  # tests/runtime is on sys.path (rootdir import mode)
from service_proc import SERVICE_TOKEN, Served, serve


@pytest.fixture(scope="session")
def runtime_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime")


@pytest.fixture(scope="session")
def credit_folder(runtime_root: Path) -> Path:
    """One trained deployment folder shared by the in-process tests (each runtime gets its own store/spool)."""
    return build_deployment(runtime_root / "deployments", fault_injection=True, timeout_ms=5000)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture
def runtime(credit_folder: Path, tmp_path: Path, store_url: str) -> Iterator[object]:
    from nb2prod.runtime import GuardedRuntime

    fault = credit_folder / "FAULT"
    fault.unlink(missing_ok=True)
    rt = GuardedRuntime.load(credit_folder, store_url=store_url, spool_dir=tmp_path / "spool")
    yield rt
    fault.unlink(missing_ok=True)
    rt.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("served")
    folder = build_deployment(home / "deployments", fault_injection=True, timeout_ms=2000)
    service = serve(folder, home, f"sqlite:///{home / 'nb2prod.db'}", extra_env={"NB2PROD_SERVICE_TOKEN": SERVICE_TOKEN})
    yield service
    service.stop()
