"""The core API: one typed entry point that every front (magics, CLI, REST, widgets) calls.

>>> ws = Workspace.open()          # ~/.nb2prod, or NB2PROD_HOME
>>> run = ws.run_notebook("example_notebooks/credit_default.ipynb", {"n_samples": 5000})
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nb2prod.store.schema import SchemaStatus

from nb2prod.api._base import _user as _user  # the CLI's default actor
from nb2prod.api._monitoring import Monitoring
from nb2prod.api._retraining import Retraining
from nb2prod.settings import Settings

__all__ = ["Workspace"]


class Workspace(Retraining, Monitoring):
    """A workspace: settings plus the store they point at. Cheap to build; opens the store on first use.

    One class for every front; its methods are grouped by feature in ``nb2prod.api._lint``, ``_deploying``,
    ``_traffic``, ``_monitoring`` and ``_retraining`` (each a thin layer over its feature package)."""

    @classmethod
    def open(cls, home: str | Path | None = None, *, env: dict[str, str] | None = None) -> Workspace:
        """Settings from the environment (``NB2PROD_HOME``, ``NB2PROD_STORE_URL``), ``home`` winning."""
        return cls(Settings.from_env(env, home=home))

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

    # -- store schema ---------------------------------------------------------------------------
    def store_schema(self) -> SchemaStatus:
        """The store's schema revision against this release's head, read without changing the store."""
        from nb2prod.store.schema import store_schema

        return store_schema(self.settings.resolved_store_url)

    def upgrade_store(self) -> tuple[SchemaStatus, SchemaStatus]:
        """Migrate the store to this release's schema (opening it does the same); its status before and after."""
        from nb2prod.store.schema import upgrade_store

        return upgrade_store(self.settings.resolved_store_url)
