"""Workspace settings, built explicitly and passed down — never read at import time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Where a workspace keeps its store, BentoML models and deployment folders.

    ``home`` holds everything by default: ``nb2prod.db`` (SQLite in WAL mode: version registry
    and audit log), ``bentoml/`` (the local BentoML store), ``deployments/`` (generated
    services) and ``runs/`` (executed notebooks). ``store_url`` may be any SQLAlchemy URL
    (for example ``postgresql+psycopg://user@host/db``) for users who run several replicas.
    """

    home: Path
    store_url: str | None = None
    bentoml_home: Path | None = None
    host: str = "127.0.0.1"
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, home: str | Path | None = None) -> Settings:
        """Build settings from ``NB2PROD_HOME``, ``NB2PROD_STORE_URL`` and ``BENTOML_HOME``.

        An explicit ``home`` wins over the environment; the default home is ``~/.nb2prod``.
        """
        env = os.environ if env is None else env
        chosen = Path(home) if home is not None else Path(env.get("NB2PROD_HOME") or Path.home() / ".nb2prod")
        bento = env.get("BENTOML_HOME")
        return cls(
            home=chosen.expanduser().resolve(),
            store_url=env.get("NB2PROD_STORE_URL") or None,
            bentoml_home=Path(bento).expanduser().resolve() if bento else None,
        )

    def with_home(self, home: str | Path) -> Settings:
        return replace(self, home=Path(home).expanduser().resolve())

    @property
    def resolved_store_url(self) -> str:
        """The store URL in force: the configured one, else SQLite in ``home``."""
        return self.store_url or f"sqlite:///{self.home / 'nb2prod.db'}"

    @property
    def resolved_bentoml_home(self) -> Path:
        return self.bentoml_home or self.home / "bentoml"

    @property
    def deployments_dir(self) -> Path:
        return self.home / "deployments"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"
