"""Alert status per rule and the webhook outbox: what the automatic evaluator decided and still owes.

A status change and the notification it causes are written in one transaction, by compare-and-set
("set firing where it was not firing"), so two evaluators that overlap (a lease that lapsed during a
long pause) still queue one notification. Deliverers claim a message by compare-and-set on
``claimed_until`` before sending, so one message is sent by one process at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from nb2prod.store import tables as t

__all__ = ["AlertStates", "AlertStatus", "OutboxMessage"]


@dataclass(frozen=True)
class AlertStatus:
    """A rule's status as last judged: ``firing`` or ``ok``, since when, with the last value."""

    name: str
    rule: str
    status: str
    value: float | None
    since: float
    checked_at: float


@dataclass(frozen=True)
class OutboxMessage:
    """One queued notification (``kind``: ``firing`` or ``resolved``) and its delivery record."""

    id: int
    name: str
    rule: str
    kind: str
    alert_id: int | None
    payload: dict[str, Any]
    created_at: float
    attempts: int
    next_at: float
    delivered_at: float | None
    last_error: str | None


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        id=int(row.id), name=row.name, rule=row.rule, kind=row.kind, alert_id=row.alert_id, payload=dict(row.payload), created_at=float(row.created_at),
        attempts=int(row.attempts), next_at=float(row.next_at),
        delivered_at=None if row.delivered_at is None else float(row.delivered_at), last_error=row.last_error,
    )


class AlertStates:
    """Reads and changes alert statuses; queues, claims and settles webhook notifications."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def transition(
        self, name: str, rule: str, status: str, value: float | None, now: float, *, payload: dict[str, Any] | None,
        fired: dict[str, Any] | None = None,
    ) -> bool:
        """Record ``status`` for (name, rule); True when it changed it (and ``payload`` was queued).

        The first status ever recorded for a rule counts as a change only when it is ``firing`` (a
        rule that starts ``ok`` has nothing to resolve). ``payload`` None records without queuing.
        ``fired`` (the columns of an ``alerts`` history row) is recorded, in the same transaction, when
        the rule starts firing, so the history and the CLI show automatic alerts too.
        """
        c = t.alert_state.c
        with self._engine.begin() as conn:
            changed = conn.execute(
                t.alert_state.update()
                .where(c.name == name, c.rule == rule, c.status != status)
                .values(status=status, value=value, since=now, checked_at=now)
            ).rowcount == 1
            if changed:
                self._record(conn, name, rule, status, payload, fired, now)
            if changed or conn.execute(
                t.alert_state.update().where(c.name == name, c.rule == rule).values(value=value, checked_at=now)
            ).rowcount == 1:
                return changed
        first = status == "firing"
        try:
            with self._engine.begin() as conn:
                conn.execute(t.alert_state.insert().values(
                    name=name, rule=rule, status=status, value=value, since=now, checked_at=now))
                if first:
                    self._record(conn, name, rule, status, payload, fired, now)
        except sa.exc.IntegrityError:
            return False  # another evaluator recorded the first status meanwhile
        return first

    @staticmethod
    def _record(
        conn: Connection, name: str, rule: str, status: str, payload: dict[str, Any] | None, fired: dict[str, Any] | None,
        now: float,
    ) -> None:
        firing = status == "firing"
        alert_id = None
        if firing and fired is not None:
            key = conn.execute(t.alerts.insert().values(**{**fired, "delivered": False})).inserted_primary_key
            alert_id = None if key is None else int(key[0])
        if payload is not None:
            conn.execute(t.alert_outbox.insert().values(
                name=name, rule=rule, kind="firing" if firing else "resolved", alert_id=alert_id, payload=payload,
                created_at=now, attempts=0, next_at=now, claimed_until=0.0,
            ))

    def statuses(self, name: str) -> list[AlertStatus]:
        c = t.alert_state.c
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(t.alert_state).where(c.name == name).order_by(c.rule)).all()
        return [AlertStatus(r.name, r.rule, r.status, None if r.value is None else float(r.value), float(r.since),
                            float(r.checked_at)) for r in rows]

    def claim_due(self, now: float, *, hold_s: float, limit: int = 20, name: str | None = None) -> list[OutboxMessage]:
        """Undelivered messages due by ``now``, each claimed for ``hold_s`` seconds by this caller.

        A message waits while an older one of the same rule is undelivered, so a rule's "resolved"
        never arrives before its "firing".
        """
        c = t.alert_outbox.c
        older = t.alert_outbox.alias("older")
        blocked = sa.exists().where(
            older.c.name == c.name, older.c.rule == c.rule, older.c.id < c.id, older.c.delivered_at.is_(None)
        )
        query = sa.select(c.id).where(c.delivered_at.is_(None), c.next_at <= now, c.claimed_until <= now, ~blocked)
        if name is not None:
            query = query.where(c.name == name)
        claimed = []
        with self._engine.connect() as conn:
            ids = [int(i) for i in conn.execute(query.order_by(c.id).limit(limit)).scalars()]
        for message_id in ids:
            with self._engine.begin() as conn:
                won = conn.execute(
                    t.alert_outbox.update()
                    .where(c.id == message_id, c.delivered_at.is_(None), c.claimed_until <= now)
                    .values(claimed_until=now + hold_s)
                ).rowcount == 1
                if won:
                    claimed.append(_message(conn.execute(sa.select(t.alert_outbox).where(c.id == message_id)).one()))
        return claimed

    def delivered(self, message_id: int, now: float) -> None:
        c = t.alert_outbox.c
        with self._engine.begin() as conn:
            conn.execute(t.alert_outbox.update().where(c.id == message_id).values(
                delivered_at=now, attempts=c.attempts + 1, last_error=None, claimed_until=0.0))
            alert_id = conn.execute(sa.select(c.alert_id).where(c.id == message_id)).scalar()
            if alert_id is not None:
                conn.execute(t.alerts.update().where(t.alerts.c.id == alert_id).values(delivered=True))

    def failed(self, message_id: int, error: str, next_at: float) -> None:
        c = t.alert_outbox.c
        with self._engine.begin() as conn:
            conn.execute(t.alert_outbox.update().where(c.id == message_id).values(
                attempts=c.attempts + 1, last_error=error[:1000], next_at=next_at, claimed_until=0.0))

    def outbox(self, name: str | None = None, *, limit: int = 100) -> list[OutboxMessage]:
        """Queued and sent notifications, newest first."""
        c = t.alert_outbox.c
        query = sa.select(t.alert_outbox).order_by(c.id.desc()).limit(limit)
        if name is not None:
            query = query.where(c.name == name)
        with self._engine.connect() as conn:
            return [_message(r) for r in conn.execute(query)]
