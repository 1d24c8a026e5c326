"""Leases: one holder at a time for decisions only one replica may take (alerts, rollback, retrain).

A lease is one row (name, holder, expires_at, token). Taking it is a compare-and-set in one UPDATE
statement — "set me as holder where the row is mine or expired" — and, when the row does not exist
yet, an INSERT the primary key lets only one process win. The same statements run on SQLite (the
write lock serialises them) and PostgreSQL (the row lock makes a concurrent UPDATE re-check the
WHERE clause on the committed row, so only one sees it expired). No advisory lock, no dialect branch.

Expiry is compared against the callers' clocks (``time.time()``): replicas on several machines need
synchronised clocks (NTP) and a TTL well above their skew. ``token`` grows by one at every
acquisition that is not an extension of a held lease, so a holder can tell (fencing) whether the
lease lapsed or changed hands in between.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nb2prod.errors import UsageError
from nb2prod.store import tables as t

__all__ = ["Lease", "Leases"]

_MAX_NAME = 128
_MAX_HOLDER = 128


@dataclass(frozen=True)
class Lease:
    """Who holds a lease until when; ``token`` counts acquisitions (extensions excluded)."""

    name: str
    holder: str
    expires_at: float
    token: int

    def held(self, now: float | None = None) -> bool:
        return self.expires_at > (time.time() if now is None else now)


def _check(name: str, holder: str, ttl_s: float) -> None:
    if not name or len(name) > _MAX_NAME:
        raise UsageError(f"lease name {name!r} must be 1–{_MAX_NAME} characters", fix="use a short name like 'alerts:credit'")
    if not holder or len(holder) > _MAX_HOLDER:
        raise UsageError(f"lease holder {holder!r} must be 1–{_MAX_HOLDER} characters", fix="use host:pid or a replica id")
    if not ttl_s > 0:
        raise UsageError(f"lease TTL must be positive, got {ttl_s}", fix="pass ttl_s in seconds, e.g. 60")


class Leases:
    """Take, renew and release named leases in the store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def try_acquire(self, name: str, holder: str, ttl_s: float) -> bool:
        """Take (or keep) lease ``name`` for ``ttl_s`` seconds; False while another holder has it.

        Re-acquiring a lease one already holds extends it (same as :meth:`renew`).
        """
        _check(name, holder, ttl_s)
        now = time.time()
        c = t.leases.c
        taken = (
            t.leases.update()
            .where(c.name == name, sa.or_(c.holder == holder, c.expires_at <= now))
            .values(
                holder=holder,
                expires_at=now + ttl_s,
                token=sa.case((sa.and_(c.holder == holder, c.expires_at > now), c.token), else_=c.token + 1),
            )
        )
        with self._engine.begin() as conn:
            if conn.execute(taken).rowcount == 1:
                return True
        try:
            with self._engine.begin() as conn:
                conn.execute(t.leases.insert().values(name=name, holder=holder, expires_at=now + ttl_s, token=1))
        except sa.exc.IntegrityError:
            return False  # the row exists and is someone else's, unexpired
        return True

    def renew(self, name: str, holder: str, ttl_s: float) -> bool:
        """Extend a lease ``holder`` still holds; False if it expired and someone else took it."""
        _check(name, holder, ttl_s)
        now = time.time()
        c = t.leases.c
        # Still the holder on record, even past expiry: nobody took it meanwhile, so keeping it is safe.
        query = (
            t.leases.update()
            .where(c.name == name, c.holder == holder)
            .values(expires_at=now + ttl_s)
        )
        with self._engine.begin() as conn:
            return bool(conn.execute(query).rowcount == 1)

    def release(self, name: str, holder: str) -> bool:
        """Give the lease up now (it expires at once) if ``holder`` has it; False otherwise."""
        c = t.leases.c
        query = t.leases.update().where(c.name == name, c.holder == holder).values(expires_at=0.0)
        with self._engine.begin() as conn:
            return bool(conn.execute(query).rowcount == 1)

    def get(self, name: str) -> Lease | None:
        """The lease row (held or expired), or None if nobody ever took it."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(t.leases).where(t.leases.c.name == name)).first()
        if row is None:
            return None
        return Lease(name=row.name, holder=row.holder, expires_at=float(row.expires_at), token=int(row.token))
