"""Hostile-client fixtures: the monitoring suite's seeded workspace, and the runtime suite's deployment folder and service."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS = Path(__file__).parent.parent
sys.path.insert(0, str(_TESTS / "runtime"))  # runtime_folder / service_proc, shared with the runtime suite

from runtime_folder import build_deployment  # noqa: E402
from service_proc import SERVICE_TOKEN, Served, serve  # noqa: E402

_spec = importlib.util.spec_from_file_location("_monitor_fixtures", _TESTS / "monitor" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_monitor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_monitor)

credit_model = _monitor.credit_model
seeded = _monitor.seeded

__all__ = ["SERVICE_TOKEN", "credit_model", "hostile_folder", "seeded", "served"]


@pytest.fixture(scope="session")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One trained deployment folder (example credit pipeline) for in-process hostile tests."""
    return build_deployment(tmp_path_factory.mktemp("hostile") / "deployments", timeout_ms=5000)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The generated service under `bentoml serve` on 127.0.0.1, with a service token."""
    home = tmp_path_factory.mktemp("hostile-served")
    folder = build_deployment(home / "deployments", timeout_ms=2000)
    service = serve(folder, home, f"sqlite:///{home / 'nb2prod.db'}", extra_env={"NB2PROD_SERVICE_TOKEN": SERVICE_TOKEN})
    yield service
    service.stop()
