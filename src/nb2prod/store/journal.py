"""Run and alert journals: notebook runs and fired alerts, kept beside the audit log."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nb2prod.errors import NotFoundError
from nb2prod.models import AlertEvent, RunRecord
from nb2prod.store import tables as t

__all__ = ["AlertJournal", "RunJournal"]


class RunJournal:
    """Records parameterised notebook runs."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, run: RunRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(t.runs.insert().values(**run.to_dict()))

    def update(self, run_id: str, **changes: Any) -> None:
        with self._engine.begin() as conn:
            done = conn.execute(t.runs.update().where(t.runs.c.run_id == run_id).values(**changes))
        if done.rowcount == 0:
            raise NotFoundError(f"no run {run_id!r}", fix="list runs with `nb2prod runs`")

    def get(self, run_id: str) -> RunRecord:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.run_id == run_id)).first()
        if row is None:
            raise NotFoundError(f"no run {run_id!r}", fix="list runs with `nb2prod runs`")
        return RunRecord.from_dict(dict(row._mapping))

    def list(self, *, limit: int = 50) -> list[RunRecord]:
        query = sa.select(t.runs).order_by(t.runs.c.started_at.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [RunRecord.from_dict(dict(r._mapping)) for r in conn.execute(query)]


class AlertJournal:
    """Records fired alerts so panels and the CLI show the same history."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, alert: AlertEvent) -> int:
        values = alert.to_dict()
        values.pop("id")
        values["ts"] = alert.ts or time.time()
        with self._engine.begin() as conn:
            result = conn.execute(t.alerts.insert().values(**values))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def mark_delivered(self, alert_id: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(t.alerts.update().where(t.alerts.c.id == alert_id).values(delivered=True))

    def list(self, name: str | None = None, *, limit: int = 200) -> list[AlertEvent]:
        query = sa.select(t.alerts).order_by(t.alerts.c.id.desc()).limit(limit)
        if name is not None:
            query = query.where(t.alerts.c.name == name)
        with self._engine.connect() as conn:
            return [AlertEvent(**r._mapping) for r in conn.execute(query)]
