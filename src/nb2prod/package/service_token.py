"""The workspace's service token: what a served model wants on its protected routes.

Secure by default: when ``NB2PROD_SERVICE_TOKEN`` is not set, the first serve creates a random
token in ``<home>/service-token`` (mode 0600) and every local service of the workspace gets it. A
service without any token refuses its protected routes (``/feedback``, ``/override``, ``/status``,
and ``/predict`` with ``NB2PROD_PROTECT_PREDICT=1``) instead of accepting anyone.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TOKEN_FILE", "ServiceToken", "ensure_token", "read_token"]

TOKEN_FILE = "service-token"


@dataclass(frozen=True)
class ServiceToken:
    value: str
    path: Path | None  # None: taken from NB2PROD_SERVICE_TOKEN
    created: bool

    @property
    def usage(self) -> str:
        """How a client sends it, without echoing the secret itself."""
        where = f"$(cat {self.path})" if self.path is not None else "$NB2PROD_SERVICE_TOKEN"
        return f'send -H "Authorization: Bearer {where}" to /feedback, /override and /status'


def read_token(home: Path, env: Mapping[str, str] | None = None) -> str | None:
    """The token the workspace's services use, if there is one yet."""
    env = os.environ if env is None else env
    if env.get("NB2PROD_SERVICE_TOKEN"):
        return env["NB2PROD_SERVICE_TOKEN"]
    try:
        return (home / TOKEN_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def ensure_token(home: Path, env: Mapping[str, str] | None = None) -> ServiceToken:
    """``NB2PROD_SERVICE_TOKEN`` if set, else the workspace's token file, created on first use."""
    env = os.environ if env is None else env
    if env.get("NB2PROD_SERVICE_TOKEN"):
        return ServiceToken(env["NB2PROD_SERVICE_TOKEN"], None, created=False)
    path = home / TOKEN_FILE
    existing = read_token(home, env={})
    if existing:
        return ServiceToken(existing, path, created=False)
    home.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:  # O_EXCL: two first serves at once agree on one token
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return ServiceToken(read_token(home, env={}) or value, path, created=False)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return ServiceToken(value, path, created=True)
