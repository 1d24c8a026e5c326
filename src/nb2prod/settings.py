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
    alert_webhook: str | None = None  # Slack-compatible incoming webhook the service notifies
    alert_eval_s: float = 60.0  # how often the service evaluates the alert rules (0: never)
    alert_rules: Path | None = None  # YAML/JSON rules file; None: the default rules

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, home: str | Path | None = None) -> Settings:
        """Build settings from ``NB2PROD_HOME``, ``NB2PROD_STORE_URL``, ``BENTOML_HOME`` and the alert variables.

        An explicit ``home`` wins over the environment; the default home is ``~/.nb2prod``.
        ``NB2PROD_ALERT_WEBHOOK`` (http(s) URL), ``NB2PROD_ALERT_EVAL_S`` (seconds, default 60; 0 turns
        the service's evaluator off) and ``NB2PROD_ALERT_RULES`` (rules file) configure automatic alerts.
        """
        env = os.environ if env is None else env
        chosen = Path(home) if home is not None else Path(env.get("NB2PROD_HOME") or Path.home() / ".nb2prod")
        bento = env.get("BENTOML_HOME")
        rules = env.get("NB2PROD_ALERT_RULES")
        return cls(
            home=chosen.expanduser().resolve(),
            store_url=env.get("NB2PROD_STORE_URL") or None,
            bentoml_home=Path(bento).expanduser().resolve() if bento else None,
            alert_webhook=_webhook(env.get("NB2PROD_ALERT_WEBHOOK")),
            alert_eval_s=_seconds(env.get("NB2PROD_ALERT_EVAL_S"), 60.0),
            alert_rules=Path(rules).expanduser().resolve() if rules else None,
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


def _webhook(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        from nb2prod.errors import UsageError

        raise UsageError(f"NB2PROD_ALERT_WEBHOOK={value!r} is not an http(s) URL",
                         fix="set it to the webhook URL, e.g. https://hooks.slack.com/services/…")
    return value


def _seconds(value: str | None, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        from nb2prod.errors import UsageError

        raise UsageError(f"NB2PROD_ALERT_EVAL_S={value!r} is not a number of seconds", fix="set e.g. 60 (0 turns it off)")
    return seconds
