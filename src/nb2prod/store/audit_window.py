"""One window of the audit log read for analysis: prediction rows, their feedback and overrides.

JSON columns come back as their JSON text: the reader decodes a whole column with one parser
call, ~10x faster than the driver decoding row by row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nb2prod.store import tables as t

__all__ = ["AuditWindow", "read_window"]


@dataclasses.dataclass(frozen=True)
class AuditWindow:
    """Rows of ``columns`` (oldest first); feedback as ``(request_id, label JSON text, outcome)`` in arrival order."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    feedback: list[tuple[str, str | None, float | None]]
    overridden: set[str]


def _window(query: Any, name: str, since: float | None, until: float | None, version_id: str | None) -> Any:
    p = t.predictions
    query = query.where(p.c.name == name)
    if since is not None:
        query = query.where(p.c.ts >= since)
    if until is not None:
        query = query.where(p.c.ts < until)
    if version_id is not None:
        query = query.where(p.c.version_id == version_id)
    return query


def read_window(
    engine: Engine,
    name: str,
    columns: Sequence[str],
    *,
    since: float | None = None,
    until: float | None = None,
    version_id: str | None = None,
    with_feedback: bool = True,
) -> AuditWindow:
    """Predictions of ``name`` in ``[since, until)``, oldest first; with their feedback and overrides unless told not to."""
    p = t.predictions
    unknown = [c for c in columns if c not in p.c]
    if unknown:
        raise ValueError(f"the predictions table has no column {unknown[0]!r}")
    selected = [sa.type_coerce(p.c[c], sa.Text).label(c) if isinstance(p.c[c].type, sa.JSON) else p.c[c] for c in columns]
    feedback: list[tuple[str, str | None, float | None]] = []
    overridden: set[str] = set()
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(_window(sa.select(*selected), name, since, until, version_id).order_by(p.c.ts))]
        if with_feedback and rows:
            f, o = t.feedback, t.overrides
            query = sa.select(f.c.request_id, sa.type_coerce(f.c.label, sa.Text).label("label"), f.c.outcome).join(
                p, p.c.request_id == f.c.request_id)
            feedback = [(r.request_id, r.label, r.outcome) for r in conn.execute(_window(query, name, since, until, version_id).order_by(f.c.id))]
            query = sa.select(o.c.request_id).join(p, p.c.request_id == o.c.request_id)
            overridden = {r.request_id for r in conn.execute(_window(query, name, since, until, version_id))}
    return AuditWindow(columns=tuple(columns), rows=rows, feedback=feedback, overridden=overridden)
