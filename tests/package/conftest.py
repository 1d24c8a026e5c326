"""Fixtures for the deploy tests: an IPython shell that runs cells like a notebook kernel does, and a
workspace home per test module whose services are stopped when the module ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shell() -> Iterator[object]:
    """An in-process IPython shell: classes defined in its cells live in ``__main__`` as in a kernel."""
    from IPython.core.interactiveshell import InteractiveShell

    # A private shell, not the singleton: other tests start IPython's global test shell themselves.
    sh = InteractiveShell()
    sh.run_line_magic("load_ext", "nb2prod")
    yield sh



@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh NB2PROD_HOME with its own BentoML store; every service deployed in it is stopped at the end."""
    from nb2prod.api import Workspace

    root = tmp_path_factory.mktemp("deploy") / ".nb2prod"
    root.mkdir()
    saved = {k: os.environ.get(k) for k in ("BENTOML_HOME", "BENTOML_DO_NOT_TRACK")}
    os.environ.update({"BENTOML_HOME": str(root / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"})
    try:
        yield root
    finally:
        with Workspace.open(root) as ws:
            ws.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
