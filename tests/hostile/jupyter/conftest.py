"""Hostile requests to the Jupyter server extension (authenticated, but malformed or probing)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "server"))  # panel_seed, shared with the server suite

from pytest_jupyter.jupyter_server import *  # noqa: F403  (jp_fetch, jp_serverapp, …)


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"nb2prod": True}}}
