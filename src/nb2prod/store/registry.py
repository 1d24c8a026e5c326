"""Version registry: version records, traffic routing per deployment, and its history."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nb2prod.errors import ConflictError, NotFoundError
from nb2prod.models import RegistryEvent, Traffic, VersionRecord, VersionState
from nb2prod.store import tables as t
from nb2prod.store.snapshot import LIVE_ACTIONS, Change, RegistrySnapshot

__all__ = ["Registry"]

_ATTEMPTS = 30


class _Lost(Exception):
    """Another writer changed the routing between this transition's read and its write."""


class Registry:
    """Reads and writes version records, traffic and registry events."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- versions ---------------------------------------------------------------------------
    def add_version(self, record: VersionRecord, *, state: VersionState = VersionState.CANDIDATE) -> None:
        """Register a version without routing it (seeding a store); a deploy registers through :meth:`apply`."""
        with self._engine.begin() as conn:
            exists = conn.execute(sa.select(t.versions.c.version_id).where(t.versions.c.version_id == record.version_id))
            if exists.first() is not None:
                raise ConflictError(f"version {record.version_id} is already registered", fix="deploy under a new version id")
            conn.execute(
                t.versions.insert().values(
                    version_id=record.version_id,
                    name=record.name,
                    created_at=record.created_at,
                    state=state.value,
                    record=record.to_dict(),
                )
            )

    def remove_version(self, version_id: str) -> None:
        """Delete a version that never served (used to undo a half-finished deploy)."""
        with self._engine.begin() as conn:
            conn.execute(t.versions.delete().where(t.versions.c.version_id == version_id))

    def update_record(self, record: VersionRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                t.versions.update().where(t.versions.c.version_id == record.version_id).values(record=record.to_dict())
            )

    def set_state(self, version_id: str, state: VersionState) -> None:
        """Set one version's state alone (seeding a store); traffic changes go through :meth:`apply`."""
        with self._engine.begin() as conn:
            done = conn.execute(
                t.versions.update().where(t.versions.c.version_id == version_id).values(state=state.value)
            )
        if done.rowcount == 0:
            raise NotFoundError(f"no version {version_id!r}", fix="list versions with `nb2prod versions NAME`")

    def get(self, version_id: str) -> VersionRecord:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(t.versions.c.record).where(t.versions.c.version_id == version_id)).first()
        if row is None:
            raise NotFoundError(f"no version {version_id!r}", fix="list versions with `nb2prod versions NAME`")
        return VersionRecord.from_dict(row.record)

    def state(self, version_id: str) -> VersionState:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(t.versions.c.state).where(t.versions.c.version_id == version_id)).first()
        if row is None:
            raise NotFoundError(f"no version {version_id!r}", fix="list versions with `nb2prod versions NAME`")
        return VersionState(row.state)

    def versions(self, name: str) -> list[tuple[VersionRecord, VersionState]]:
        """All versions of a deployment, newest first, with their state."""
        query = (
            sa.select(t.versions.c.record, t.versions.c.state)
            .where(t.versions.c.name == name)
            .order_by(t.versions.c.created_at.desc())
        )
        with self._engine.connect() as conn:
            return [(VersionRecord.from_dict(r.record), VersionState(r.state)) for r in conn.execute(query)]

    def names(self) -> list[str]:
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(t.versions.c.name).distinct().order_by(t.versions.c.name))
            return [r.name for r in rows]

    def resolve(self, ref: str) -> VersionRecord:
        """``NAME`` (the live version, else the newest) or ``NAME:VERSION`` (a version id or its prefix)."""
        name, _, version = ref.partition(":")
        if version:
            candidates = [rec for rec, _ in self.versions(name) if rec.version_id.startswith(version) or rec.version_id == version]
            if len(candidates) == 1:
                return candidates[0]
            if not candidates:
                raise NotFoundError(f"no version {version!r} of {name!r}", fix=f"list versions with `nb2prod versions {name}`")
            raise ConflictError(f"{version!r} matches several versions of {name!r}", fix="give more characters of the version id")
        live = self.traffic(name).live
        if live:
            return self.get(live)
        found = self.versions(name)
        if not found:
            raise NotFoundError(f"no deployment named {name!r}", fix="deploy one with %deploy or `nb2prod deploy`")
        return found[0][0]

    # -- traffic ----------------------------------------------------------------------------
    def traffic(self, name: str) -> Traffic:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(t.traffic).where(t.traffic.c.name == name)).first()
        return Traffic(**row._mapping) if row is not None else Traffic(name=name)

    def set_traffic(self, new: Traffic, event: RegistryEvent, *, expected: Traffic | None = None) -> None:
        """Replace a deployment's routing wholesale and record why (seeding a store; version states untouched).

        Traffic changes go through :meth:`apply`, which keeps routing and version states consistent.
        ``expected``: compare-and-set as in :meth:`apply`.
        """
        values: dict[str, Any] = new.to_dict()
        values["updated_at"] = time.time()
        where = [t.traffic.c.name == new.name]
        if expected is not None and expected.updated_at:
            where += [t.traffic.c[key] == value for key, value in expected.to_dict().items() if key != "name"]
        with self._engine.begin() as conn:
            done = conn.execute(t.traffic.update().where(*where).values(**values))
            if done.rowcount == 0:
                if len(where) > 1:
                    raise ConflictError(
                        f"the routing of {new.name!r} changed while this change was being made; nothing was changed",
                        fix=f"look at `nb2prod versions {new.name}` and try again",
                    )
                conn.execute(t.traffic.insert().values(**values))
            self._insert_event(conn, event)

    # -- transitions ------------------------------------------------------------------------
    def snapshot(self, name: str) -> RegistrySnapshot:
        """Routing, every version's state and the live succession of ``name``.

        The routing is read first: every transition rewrites the routing row, so a state read after
        it that is newer than it makes :meth:`apply`'s compare-and-set fail, never pass stale.
        """
        traffic = self.traffic(name)
        with self._engine.connect() as conn:
            states = {r.version_id: VersionState(r.state) for r in conn.execute(
                sa.select(t.versions.c.version_id, t.versions.c.state).where(t.versions.c.name == name))}
            lives = tuple(r.version_id for r in conn.execute(
                sa.select(t.events.c.version_id)
                .where(t.events.c.name == name, t.events.c.action.in_(LIVE_ACTIONS), t.events.c.version_id.is_not(None))
                .order_by(t.events.c.id)))
        return RegistrySnapshot(name=name, traffic=traffic, states=states, lives=lives)

    def apply(self, name: str, transition: Callable[[RegistrySnapshot], Change], *, expected: Traffic | None = None) -> Change:
        """Plan ``transition`` on the current state of ``name`` and write routing, states and event in one transaction.

        Compare-and-set on the routing row: if another writer changed it between the read and the
        write, nothing is written and the transition is planned again on the fresh state (which may
        now refuse). With ``expected`` (the routing the caller decided on), a changed routing is a
        :class:`ConflictError` instead of a retry.
        """
        for attempt in range(_ATTEMPTS):
            snapshot = self.snapshot(name)
            if expected is not None and _routing(snapshot.traffic) != _routing(expected):
                raise ConflictError(
                    f"the routing of {name!r} changed while this change was being made; nothing was changed",
                    fix=f"look at `nb2prod versions {name}` and try again",
                )
            change = transition(snapshot)
            try:
                self._write(snapshot, change)
                return change
            except _Lost:
                if expected is not None:
                    raise ConflictError(
                        f"the routing of {name!r} changed while this change was being made; nothing was changed",
                        fix=f"look at `nb2prod versions {name}` and try again",
                    ) from None
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # jitter, so racing writers do not retry in step
        raise ConflictError(f"the routing of {name!r} kept changing; nothing was changed", fix="try again")

    def _write(self, snapshot: RegistrySnapshot, change: Change) -> None:
        before = snapshot.traffic
        values: dict[str, Any] = change.traffic.to_dict()
        values["updated_at"] = max(time.time(), before.updated_at + 1e-6)  # strictly increasing: a revision
        try:
            with self._engine.begin() as conn:
                if before.updated_at:
                    where = [t.traffic.c[key] == value for key, value in before.to_dict().items()]
                    if conn.execute(t.traffic.update().where(*where).values(**values)).rowcount != 1:
                        raise _Lost
                else:
                    conn.execute(t.traffic.insert().values(**values))
                if change.added is not None:
                    record = change.added
                    conn.execute(t.versions.insert().values(
                        version_id=record.version_id, name=record.name, created_at=record.created_at,
                        state=change.states.get(record.version_id, VersionState.CANDIDATE).value, record=record.to_dict(),
                    ))
                for version_id, state in change.states.items():
                    if change.added is None or version_id != change.added.version_id:
                        conn.execute(t.versions.update().where(t.versions.c.version_id == version_id,
                                                               t.versions.c.name == snapshot.name).values(state=state.value))
                if change.removed is not None:
                    conn.execute(t.versions.delete().where(t.versions.c.version_id == change.removed))
                self._insert_event(conn, change.event)
        except sa.exc.IntegrityError as exc:  # a concurrent first write of the routing row, or of the same version id
            raise _Lost from exc

    # -- history ----------------------------------------------------------------------------
    def record_event(self, event: RegistryEvent) -> None:
        with self._engine.begin() as conn:
            self._insert_event(conn, event)

    @staticmethod
    def _insert_event(conn: sa.Connection, event: RegistryEvent) -> None:
        values = event.to_dict()
        values.pop("id")
        values["ts"] = event.ts or time.time()
        conn.execute(t.events.insert().values(**values))

    def events(self, name: str, *, limit: int = 200) -> list[RegistryEvent]:
        query = sa.select(t.events).where(t.events.c.name == name).order_by(t.events.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [RegistryEvent(**r._mapping) for r in conn.execute(query)]


def _routing(traffic: Traffic) -> dict[str, Any]:
    return {k: v for k, v in traffic.to_dict().items() if k != "updated_at"}
