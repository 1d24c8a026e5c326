"""Fixtures for the deploy tests: an IPython shell that runs cells like a notebook kernel does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def shell() -> Iterator[object]:
    """An in-process IPython shell: classes defined in its cells live in ``__main__`` as in a kernel."""
    from IPython.core.interactiveshell import InteractiveShell

    # A private shell, not the singleton: other tests start IPython's global test shell themselves.
    sh = InteractiveShell()
    sh.run_line_magic("load_ext", "nb2prod")
    yield sh

