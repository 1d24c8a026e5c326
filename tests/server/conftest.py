"""Server tests: a jupyter_server with the nb2prod extension (pytest-jupyter's ``jp_fetch``) and a seeded workspace."""

from __future__ import annotations

from typing import Any

import pytest
from panel_seed import seed_monitoring, seed_registry
from pytest_jupyter.jupyter_server import *  # noqa: F403  (jp_fetch, jp_serverapp, …)

from nb2prod.api import Workspace


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"nb2prod": True}}}


def _server_workspace(serverapp: Any) -> Workspace:
    workspace: Workspace = serverapp.web_app.settings["nb2prod_workspace"]
    return workspace


@pytest.fixture
def seeded(jp_serverapp: Any) -> Workspace:
    """The workspace the server uses (NB2PROD_HOME of this test) with the registry of ``credit``."""
    ws = _server_workspace(jp_serverapp)
    seed_registry(ws)
    return ws


@pytest.fixture
def monitored(seeded: Workspace) -> Workspace:
    """``seeded`` plus ``monitored``: a version with a reference sketch, a day of audit rows, feedback and an alert."""
    seed_monitoring(seeded, seeded.settings.home)
    return seeded
