"""Audit log: one row per prediction, with feedback and overrides joined on request id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from nb2prod.errors import InvalidInputError, NotFoundError
from nb2prod.models import AuditEvent, Feedback, Override
from nb2prod.store import tables as t
from nb2prod.store.audit_window import AuditWindow, read_window
from nb2prod.store.profiles import ProfileStore

__all__ = ["AuditLog"]

# what a shadow answer's fold needs of its stored row (the columns ``Profile.fold`` reads for the shadow)
def _json_texts(texts: Sequence[str | None]) -> list[Any]:
    """JSON texts decoded with one parser call; SQL NULL is None."""
    return json.loads("[" + ",".join("null" if v is None else v for v in texts) + "]") if texts else []


_SHADOW_ROW = ("request_id", "name", "version_id", "arm", "ts", "inputs", "output", "shadow_version", "shadow_output", "shadow_error")


def _fits(table: sa.Table, row: dict[str, Any], columns: Sequence[str]) -> None:
    """Refuse a value longer than its column, naming it (PostgreSQL would fail the whole insert; SQLite would keep it)."""
    for name in columns:
        value, limit = row.get(name), getattr(table.c[name].type, "length", None)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            raise InvalidInputError(f"{name} is {len(value)} characters, more than the {limit} allowed", fix=f"send a {name} of at most {limit} characters")


class AuditLog:
    """Writes predictions in batches (idempotent on request id) and reads them back by window."""

    def __init__(self, engine: Engine, *, profiles: bool = True) -> None:
        self._engine = engine
        self.profiles = ProfileStore(engine)
        self.profiling = profiles  # fold rows into monitoring profiles as they are written

    def _insert_ignore(self, table: sa.Table) -> Any:
        dialect = self._engine.dialect.name
        if dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        if dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        return table.insert()

    def write(self, events: Sequence[AuditEvent]) -> int:
        """Insert predictions; a request id already stored is skipped, so replays are safe.

        The key is the id the service generated for that answer (a caller's own id is only stored
        in ``client_request_id``), so a conflict here is a replay of the same row, never a
        different prediction that happens to reuse an id.
        """
        if not events:
            return 0
        rows = [e.to_dict() for e in events]
        with self._engine.begin() as conn:
            if not self.profiling:
                conn.execute(self._insert_ignore(t.predictions), rows)
                return len(rows)
            # Only rows this statement really inserted are profiled: a replayed row is not counted twice.
            inserted = conn.execute(self._insert_ignore(t.predictions).returning(t.predictions.c.request_id), rows)
            new = {r[0] for r in inserted}
            self.profiles.fold_predictions(conn, [r for r in rows if r["request_id"] in new])
        return len(rows)

    def write_explanations(self, explanations: Mapping[str, Any]) -> int:
        """Put explanations computed after their rows were spooled onto the stored rows, by request id.

        Writing the same explanation again (a replayed spool) changes nothing; an id not stored updates
        nothing. Explanations are not folded into profiles, so no profile changes. Returns rows updated.
        """
        if not explanations:
            return 0
        p = t.predictions
        statement = p.update().where(p.c.request_id == sa.bindparam("b_request_id")).values(
            explanation=sa.bindparam("b_explanation", type_=p.c.explanation.type)
        )
        with self._engine.begin() as conn:
            result = conn.execute(statement, [{"b_request_id": k, "b_explanation": v} for k, v in explanations.items()])
        return max(int(result.rowcount or 0), 0)

    def write_shadow(self, answers: Sequence[Mapping[str, Any]]) -> int:
        """Put shadow answers (``request_id``, ``output``, ``score``, ``error``) onto their stored rows.

        A row keeps the first answer it gets: one that already holds an answer is left alone, so a
        replayed batch changes neither the row nor its profile. The new answers fold into the
        profile of their row's bucket in the same transaction. Returns the rows updated; an answer
        whose row is not stored yet updates nothing.
        """
        by_id = {a["request_id"]: a for a in answers}
        if not by_id:
            return 0
        p, ids = t.predictions, list(by_id)
        # JSON columns as text, decoded in bulk (a third of the cost when the driver decodes row by row)
        columns = [sa.cast(p.c[c], sa.Text).label(c) if isinstance(p.c[c].type, sa.JSON) else p.c[c] for c in _SHADOW_ROW]
        with self._engine.begin() as conn:
            stored: list[dict[str, Any]] = []
            for start in range(0, len(ids), 500):
                query = sa.select(*columns).where(p.c.request_id.in_(ids[start : start + 500])).with_for_update()
                stored.extend(dict(r._mapping) for r in conn.execute(query))
            # no answer yet: both answer columns empty (SQL NULL, or the JSON null an insert writes for None)
            fresh = [r for r in stored if r["shadow_error"] is None and r["shadow_output"] in (None, "null")]
            if not fresh:
                return 0
            for column in ("inputs", "output"):
                for row, value in zip(fresh, _json_texts([r[column] for r in fresh]), strict=True):
                    row[column] = value
            statement = p.update().where(p.c.request_id == sa.bindparam("b_request_id"), p.c.shadow_error.is_(None)).values(
                shadow_output=sa.bindparam("b_output", type_=p.c.shadow_output.type),
                shadow_score=sa.bindparam("b_score"),
                shadow_error=sa.bindparam("b_error"),
            )
            answered = [{**r, "shadow_output": by_id[r["request_id"]].get("output"), "shadow_score": by_id[r["request_id"]].get("score"),
                         "shadow_error": by_id[r["request_id"]].get("error")} for r in fresh]
            conn.execute(statement, [{"b_request_id": r["request_id"], "b_output": r["shadow_output"], "b_score": r["shadow_score"],
                                      "b_error": r["shadow_error"]} for r in answered])
            if self.profiling:
                self.profiles.fold_shadow(conn, answered)
        return len(fresh)

    def window(self, name: str, columns: Sequence[str], *, since: float | None = None, until: float | None = None,
               version_id: str | None = None, with_feedback: bool = True) -> AuditWindow:
        """``columns`` of the predictions of ``name`` in ``[since, until)`` with feedback and overrides (JSON as text)."""
        return read_window(self._engine, name, columns, since=since, until=until, version_id=version_id, with_feedback=with_feedback)

    def add_feedback(self, items: Iterable[Feedback]) -> int:
        rows = [{**f.to_dict(), "ts": f.ts or time.time()} for f in items]
        for row in rows:
            _fits(t.feedback, row, ("request_id", "source"))
        if rows:
            with self._engine.begin() as conn:
                if not self.profiling:
                    conn.execute(t.feedback.insert(), rows)
                    return len(rows)
                # Insert first (SQLite takes its write lock here), then fold against the labels stored before.
                new = {r[0] for r in conn.execute(t.feedback.insert().returning(t.feedback.c.id), rows)}
                self.profiles.fold_feedback(conn, rows, exclude_ids=new)
        return len(rows)

    def add_override(self, item: Override) -> None:
        _fits(t.overrides, item.to_dict(), ("request_id", "operator"))
        with self._engine.begin() as conn:
            conn.execute(t.overrides.insert().values(**{**item.to_dict(), "ts": item.ts or time.time()}))
            if self.profiling:
                self.profiles.fold_override(conn, item.request_id)

    def get(self, request_id: str) -> AuditEvent:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(t.predictions).where(t.predictions.c.request_id == request_id)).first()
        if row is None:
            raise NotFoundError(f"no prediction with request id {request_id!r}", fix="use the request_id a prediction returned")
        return AuditEvent.from_dict(dict(row._mapping))

    def by_client_id(self, client_request_id: str, *, name: str | None = None) -> list[AuditEvent]:
        """Every prediction a caller sent with its own id ``client_request_id`` (ids are not unique), oldest first."""
        query = sa.select(t.predictions).where(t.predictions.c.client_request_id == client_request_id)
        if name is not None:
            query = query.where(t.predictions.c.name == name)
        with self._engine.connect() as conn:
            return [AuditEvent.from_dict(dict(r._mapping)) for r in conn.execute(query.order_by(t.predictions.c.ts))]

    def exists(self, request_id: str) -> bool:
        with self._engine.connect() as conn:
            query = sa.select(t.predictions.c.request_id).where(t.predictions.c.request_id == request_id)
            return conn.execute(query).first() is not None

    def predictions(
        self,
        name: str,
        *,
        since: float | None = None,
        until: float | None = None,
        version_id: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Predictions of a deployment in ``[since, until)``, oldest first."""
        query = sa.select(t.predictions).where(t.predictions.c.name == name)
        if since is not None:
            query = query.where(t.predictions.c.ts >= since)
        if until is not None:
            query = query.where(t.predictions.c.ts < until)
        if version_id is not None:
            query = query.where(t.predictions.c.version_id == version_id)
        query = query.order_by(t.predictions.c.ts)
        if limit is not None:
            query = query.order_by(None).order_by(t.predictions.c.ts.desc()).limit(limit)
        with self._engine.connect() as conn:
            events = [AuditEvent.from_dict(dict(r._mapping)) for r in conn.execute(query)]
        return sorted(events, key=lambda e: e.ts) if limit is not None else events

    def count(self, name: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(t.predictions)
        if name is not None:
            query = query.where(t.predictions.c.name == name)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    @staticmethod
    def _joined(table: sa.Table, request_ids: Sequence[str] | None, name: str | None) -> sa.Select[Any]:
        """Rows of ``table`` (feedback or overrides) in insertion order, for given request ids or one deployment."""
        query = sa.select(table).order_by(table.c.id)
        if request_ids is not None:
            query = query.where(table.c.request_id.in_(list(request_ids)))
        if name is not None:
            query = query.join(t.predictions, t.predictions.c.request_id == table.c.request_id).where(t.predictions.c.name == name)
        return query

    def feedback(self, request_ids: Sequence[str] | None = None, *, name: str | None = None) -> list[Feedback]:
        """Feedback rows, the latest per request id, for given ids or for one deployment."""
        latest: dict[str, Feedback] = {}
        with self._engine.connect() as conn:
            for r in conn.execute(self._joined(t.feedback, request_ids, name)):
                latest[r.request_id] = Feedback(request_id=r.request_id, label=r.label, outcome=r.outcome, ts=r.ts, source=r.source)
        return list(latest.values())

    def overrides(self, request_ids: Sequence[str] | None = None, *, name: str | None = None) -> list[Override]:
        """Overrides in the order they were made, for given ids or for one deployment."""
        with self._engine.connect() as conn:
            return [
                Override(request_id=r.request_id, decision=r.decision, operator=r.operator, reason=r.reason, ts=r.ts)
                for r in conn.execute(self._joined(t.overrides, request_ids, name))
            ]

