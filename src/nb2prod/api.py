"""The core API: one typed entry point that every front (magics, CLI, REST, widgets) calls.

>>> ws = Workspace.open()          # ~/.nb2prod, or NB2PROD_HOME
>>> run = ws.run_notebook("example_notebooks/credit_default.ipynb", {"n_samples": 5000})
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb2prod.settings import Settings

if TYPE_CHECKING:
    from nb2prod.models import RunRecord
    from nb2prod.store import Store

__all__ = ["Workspace"]


class Workspace:
    """A workspace: settings plus the store they point at. Cheap to build; opens the store on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def open(cls, home: str | Path | None = None, *, env: dict[str, str] | None = None) -> Workspace:
        """Settings from the environment (``NB2PROD_HOME``, ``NB2PROD_STORE_URL``), ``home`` winning."""
        return cls(Settings.from_env(env, home=home))

    @cached_property
    def store(self) -> Store:
        from nb2prod.store import Store

        store = Store.open(self.settings.resolved_store_url)
        os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
        return store

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- info -------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """What this workspace holds: where, and how many deployments, predictions and runs."""
        from nb2prod import __version__

        return {
            "version": __version__,
            "home": str(self.settings.home),
            "store": self.store.url,
            "bentoml_home": str(self.settings.resolved_bentoml_home),
            "deployments": self.store.registry.names(),
            "predictions": self.store.audit.count(),
            "runs": len(self.store.runs.list(limit=10_000)),
        }

    # -- runs -------------------------------------------------------------------------------
    def run_notebook(
        self,
        notebook: str | Path,
        parameters: dict[str, Any] | None = None,
        *,
        progress: bool = True,
        timeout_s: float | None = None,
    ) -> RunRecord:
        """Execute a notebook with papermill parameters into a versioned run folder; journal it."""
        from nb2prod.runs import run_notebook

        return run_notebook(self.settings, self.store, notebook, parameters, progress=progress, timeout_s=timeout_s)

    def runs(self, *, limit: int = 50) -> list[RunRecord]:
        return self.store.runs.list(limit=limit)
