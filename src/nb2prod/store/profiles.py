"""Profile rows: folded inside the transaction that writes predictions or feedback, read back by window.

Each process writes its own profile row per (deployment, version, arm, minute bucket) — its
*writer id* — so replicas never contend for a row and readers merge what they find. Labels,
outcomes and overrides arrive later and fold into the label profile of their prediction's bucket.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from nb2prod.store import tables as t
from nb2prod.store.profile_reads import BucketProfile, ProfileReader

if TYPE_CHECKING:
    from nb2prod.monitor.profile import LabelProfile

__all__ = ["BucketProfile", "ProfileStore", "writer_id"]

_HOUR = 3600
VOCABULARY_VERSIONS = 32  # versions whose training vocabularies a store keeps in memory


_PREDICTION_COLUMNS = ("request_id", "name", "version_id", "arm", "ts", "inputs", "output", "score")


def writer_id() -> str:
    """This process's profile writer id (host and pid: one row per process and bucket)."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}"


def _by_series(groups: Mapping[tuple[str, str, str, int], Any]) -> dict[tuple[str, str, str], list[int]]:
    out: dict[tuple[str, str, str], list[int]] = {}
    for name, version_id, arm, bucket in groups:
        out.setdefault((name, version_id, arm), []).append(bucket)
    return out


def _insert_ignore(conn: Connection, table: sa.Table) -> Any:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return table.insert()


def _key_where(table: sa.Table, key: Mapping[str, Any]) -> list[Any]:
    return [table.c[k] == v for k, v in key.items()]


class ProfileStore(ProfileReader):
    """Folds rows into profile rows (within the caller's transaction); reads them back (:class:`ProfileReader`)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # version id → text column → training words, the most recently folded versions (a writer folds for a
        # few at a time: live, canary, shadow; a long-lived rebuild walks through many)
        self._vocabularies: OrderedDict[str, dict[str, frozenset[str]]] = OrderedDict()
        self._vocabularies_lock = threading.Lock()  # writers of several threads share one store

    def _vocabularies_of(self, conn: Connection, version_ids: Iterable[str]) -> dict[str, dict[str, frozenset[str]]]:
        """Each version's training vocabularies, read from its registered record (in this transaction) and kept:
        every writer of a version — service replicas, a rebuild — folds its texts' ``.oov`` against the same words.
        A version not registered (yet) folds without and is looked up again next time."""
        ids = set(version_ids)
        with self._vocabularies_lock:
            known = {v: self._vocabularies[v] for v in ids if v in self._vocabularies}
        wanted = ids - known.keys()
        if wanted:
            v = t.versions
            for row in conn.execute(sa.select(v.c.version_id, v.c.record).where(v.c.version_id.in_(sorted(wanted)))):
                record = row.record if isinstance(row.record, dict) else {}
                found = (record.get("extra") or {}).get("vocabularies") or {}
                known[row.version_id] = {str(k): frozenset(map(str, w)) for k, w in found.items() if isinstance(w, list)}
        with self._vocabularies_lock:
            for version_id, words in known.items():
                self._vocabularies[version_id] = words
                self._vocabularies.move_to_end(version_id)
            while len(self._vocabularies) > VOCABULARY_VERSIONS:
                self._vocabularies.popitem(last=False)
        return {v: known.get(v, {}) for v in ids}

    # -- folding, inside the caller's transaction -----------------------------------------------------
    def fold_predictions(self, conn: Connection, rows: Sequence[Mapping[str, Any]], *, writer: str | None = None) -> None:
        """Fold newly inserted prediction rows into this writer's bucket profiles (and any labels already stored)."""
        from nb2prod.monitor.profile import Profile, bucket_of

        if not rows:
            return
        writer = writer or writer_id()
        groups: dict[tuple[str, str, str, int], list[Mapping[str, Any]]] = {}
        for row in rows:
            key = (row["name"], row["version_id"], row.get("arm") or "live", bucket_of(float(row["ts"])))
            groups.setdefault(key, []).append(row)
        p = t.profiles
        keys = [{"name": k[0], "version_id": k[1], "arm": k[2], "bucket": k[3], "writer": writer} for k in groups]
        # three statements per batch however many minutes it spans (a replayed backlog spans many)
        empty = Profile().dumps()
        conn.execute(_insert_ignore(conn, p), [{**k, "n": 0, "data": empty} for k in keys])
        stored: dict[tuple[str, str, str, int], bytes] = {}
        for (name, version_id, arm), buckets in _by_series(groups).items():
            query = sa.select(p.c.bucket, p.c.data).where(
                p.c.name == name, p.c.version_id == version_id, p.c.arm == arm, p.c.writer == writer, p.c.bucket.in_(buckets),
            ).with_for_update()
            stored.update({(name, version_id, arm, int(r.bucket)): r.data for r in conn.execute(query)})
        vocabularies = self._vocabularies_of(conn, (k[1] for k in groups))
        updates = []
        for key, part in groups.items():
            profile = Profile.loads(stored[key])
            profile.fold(part, vocabularies[key[1]])
            updates.append({"b_name": key[0], "b_version": key[1], "b_arm": key[2], "b_bucket": key[3],
                            "b_n": profile.n + profile.skipped, "b_data": profile.dumps()})
        statement = p.update().where(
            p.c.name == sa.bindparam("b_name"), p.c.version_id == sa.bindparam("b_version"), p.c.arm == sa.bindparam("b_arm"),
            p.c.bucket == sa.bindparam("b_bucket"), p.c.writer == writer,
        ).values(n=sa.bindparam("b_n"), data=sa.bindparam("b_data"))
        conn.execute(statement, updates)
        ids = [r["request_id"] for r in rows]
        feedback = self._feedback_rows(conn, ids)
        overridden = self._overridden(conn, ids)
        if feedback or overridden:
            by_id = {r["request_id"]: r for r in rows}
            self._fold_late(conn, by_id, feedback=feedback, new_overrides=overridden)

    def fold_shadow(self, conn: Connection, rows: Sequence[Mapping[str, Any]], *, writer: str | None = None) -> None:
        """Fold shadow answers just written onto stored rows into this writer's profile of each row's bucket.

        ``rows`` are the stored prediction rows with their new ``shadow_*`` values. The hour rollup
        of a touched bucket is dropped in the same transaction, so the next reader rolls it again.
        """
        from nb2prod.monitor.profile import Profile, bucket_of

        if not rows:
            return
        writer = writer or writer_id()
        groups: dict[tuple[str, str, str, int], list[Mapping[str, Any]]] = {}
        for row in rows:
            groups.setdefault((row["name"], row["version_id"], row.get("arm") or "live", bucket_of(float(row["ts"]))), []).append(row)
        p, ru = t.profiles, t.profile_rollups
        keys = [{"name": k[0], "version_id": k[1], "arm": k[2], "bucket": k[3], "writer": writer} for k in groups]
        conn.execute(_insert_ignore(conn, p), [{**k, "n": 0, "data": Profile().dumps()} for k in keys])
        for key, (group, part) in zip(keys, groups.items(), strict=True):
            where = _key_where(p, key)
            profile = Profile.loads(conn.execute(sa.select(p.c.data).where(*where).with_for_update()).scalar_one())
            profile.fold_late_shadow(part)
            conn.execute(p.update().where(*where).values(data=profile.dumps()))
            hour = {"name": group[0], "version_id": group[1], "arm": group[2], "hour": group[3] - group[3] % _HOUR}
            conn.execute(ru.delete().where(*_key_where(ru, hour)))

    def fold_feedback(self, conn: Connection, items: Sequence[Mapping[str, Any]], *, exclude_ids: set[int]) -> None:
        """Fold just-inserted feedback rows (ids ``exclude_ids``) into their predictions' label profiles.

        A newer label for the same prediction replaces the older one's contribution exactly.
        """
        ids = list(dict.fromkeys(f["request_id"] for f in items))
        predictions = self._predictions(conn, ids)
        if not predictions:
            return
        previous = [f for f in self._feedback_rows(conn, list(predictions)) if f["id"] not in exclude_ids]
        self._fold_late(conn, predictions, feedback=[f for f in items if f["request_id"] in predictions], previous=previous)

    def fold_override(self, conn: Connection, request_id: str) -> None:
        """Count an override once per prediction (call right after inserting it)."""
        predictions = self._predictions(conn, [request_id])
        o = t.overrides
        count = conn.execute(sa.select(sa.func.count()).where(o.c.request_id == request_id)).scalar_one()
        if predictions and count == 1:
            self._fold_late(conn, predictions, feedback=[], new_overrides={request_id})

    def _fold_late(
        self,
        conn: Connection,
        predictions: Mapping[str, Mapping[str, Any]],
        *,
        feedback: Sequence[Mapping[str, Any]],
        previous: Sequence[Mapping[str, Any]] = (),
        new_overrides: Iterable[str] = (),
    ) -> None:
        from nb2prod.monitor.profile import LabelProfile, bucket_of, fold_label

        state: dict[str, tuple[Any, Any]] = {}
        for f in previous:  # the label and outcome in force before this batch (latest non-null of each)
            label, outcome = state.get(f["request_id"], (None, None))
            state[f["request_id"]] = (f["label"] if f["label"] is not None else label, f["outcome"] if f["outcome"] is not None else outcome)
        before = dict(state)
        for f in feedback:
            label, outcome = state.get(f["request_id"], (None, None))
            state[f["request_id"]] = (f["label"] if f.get("label") is not None else label,
                                      f["outcome"] if f.get("outcome") is not None else outcome)
        touched: dict[tuple[str, str, str, int], LabelProfile] = {}

        def target(row: Mapping[str, Any]) -> LabelProfile:
            key = (row["name"], row["version_id"], row.get("arm") or "live", bucket_of(float(row["ts"])))
            if key not in touched:
                touched[key] = LabelProfile()
            return touched[key]

        for rid in {f["request_id"] for f in feedback}:
            row = predictions[rid]
            if rid in before:
                fold_label(target(row), row, *before[rid], sign=-1)
            fold_label(target(row), row, *state[rid])
        for rid in new_overrides:
            target(predictions[rid]).overridden += 1
        lp = t.label_profiles
        for (name, version_id, arm, bucket), delta in touched.items():
            key = {"name": name, "version_id": version_id, "arm": arm, "bucket": bucket}
            conn.execute(_insert_ignore(conn, lp).values(**key, data=LabelProfile().dumps()))
            stored = conn.execute(sa.select(lp.c.data).where(*_key_where(lp, key)).with_for_update()).scalar_one()
            merged = LabelProfile.loads(stored).merge(delta)
            conn.execute(lp.update().where(*_key_where(lp, key)).values(data=merged.dumps(),
                                                                         updates=sa.func.coalesce(lp.c.updates, 0) + 1))

    @staticmethod
    def _predictions(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        p = t.predictions
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            query = sa.select(*(p.c[c] for c in _PREDICTION_COLUMNS)).where(p.c.request_id.in_(ids[start : start + 500]))
            out.update({r.request_id: dict(r._mapping) for r in conn.execute(query)})
        return out

    @staticmethod
    def _feedback_rows(conn: Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
        f = t.feedback
        out: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            query = sa.select(f.c.id, f.c.request_id, f.c.label, f.c.outcome).where(f.c.request_id.in_(ids[start : start + 500]))
            out.extend(dict(r._mapping) for r in conn.execute(query.order_by(f.c.id)))
        return out

    @staticmethod
    def _overridden(conn: Connection, ids: Sequence[str]) -> set[str]:
        o = t.overrides
        out: set[str] = set()
        for start in range(0, len(ids), 500):
            out.update(r[0] for r in conn.execute(sa.select(o.c.request_id).where(o.c.request_id.in_(ids[start : start + 500]))))
        return out

    # -- reading ------------------------------------------------------------------------------
    # -- backfill and retention -----------------------------------------------------------------------
    def rebuild(self, name: str, *, since: float | None = None, chunk: int = 5000) -> int:
        """Recompute ``name``'s profiles from its audit rows (from ``since``'s bucket on); returns rows folded."""
        import json

        from nb2prod.monitor.profile import bucket_of

        p = t.predictions
        start = bucket_of(since) if since is not None else None
        writer = "rebuild"
        folded = 0
        with self._engine.begin() as conn:
            for table in (t.profiles, t.label_profiles):
                removal = table.delete().where(table.c.name == name)
                if start is not None:
                    removal = removal.where(table.c.bucket >= start)
                conn.execute(removal)
            rollups = t.profile_rollups.delete().where(t.profile_rollups.c.name == name)
            if start is not None:
                rollups = rollups.where(t.profile_rollups.c.hour >= start - start % _HOUR)
            conn.execute(rollups)
            columns = [p.c[c] for c in _PREDICTION_COLUMNS if c not in ("inputs", "output")] + [
                sa.type_coerce(p.c.inputs, sa.Text).label("inputs"),
                p.c.latency_ms, p.c.fallback, sa.type_coerce(p.c.violations, sa.Text).label("violations"), p.c.error,
                p.c.confidence, p.c.shadow_version, sa.type_coerce(p.c.shadow_output, sa.Text).label("shadow_output"),
                p.c.shadow_score, p.c.shadow_error, sa.type_coerce(p.c.output, sa.Text).label("output_text"),
            ]
            query = sa.select(*columns).where(p.c.name == name).order_by(p.c.ts, p.c.request_id).limit(chunk)
            if start is not None:
                query = query.where(p.c.ts >= start)
            last: tuple[float, str] | None = None
            while True:  # keyset pages: the fold writes on this connection between reads
                page = query if last is None else query.where(
                    sa.or_(p.c.ts > last[0], sa.and_(p.c.ts == last[0], p.c.request_id > last[1])))
                batch = conn.execute(page).all()
                if not batch:
                    break
                last = (batch[-1].ts, batch[-1].request_id)
                rows = []
                for r in batch:
                    row = dict(r._mapping)
                    for column in ("inputs", "violations", "shadow_output"):
                        text = row[column]
                        row[column] = json.loads(text) if isinstance(text, str) else text
                    text = row.pop("output_text")
                    row["output"] = json.loads(text) if isinstance(text, str) else text
                    rows.append(row)
                self.fold_predictions(conn, rows, writer=writer)
                folded += len(rows)
        return folded

    def delete_audit_before(self, cutoff: float, *, name: str | None = None) -> int:
        """Delete audit rows (and their feedback and overrides) older than ``cutoff``; profiles stay."""
        p = t.predictions
        where = [p.c.ts < cutoff] + ([p.c.name == name] if name is not None else [])
        old = sa.select(p.c.request_id).where(*where)
        with self._engine.begin() as conn:
            for table in (t.feedback, t.overrides):
                conn.execute(table.delete().where(table.c.request_id.in_(old)))
            return int(conn.execute(p.delete().where(*where)).rowcount or 0)
